from __future__ import annotations

from django.urls import path

from api import views

urlpatterns = [
    path("settings/tokens/", views.token_list, name="tokens"),
    path("settings/tokens/<int:pk>/revoke", views.token_revoke_view, name="token_revoke"),
    path("settings/service-accounts/", views.service_account_list, name="service_accounts"),
    path(
        "settings/service-accounts/<int:pk>/tokens",
        views.service_account_tokens,
        name="service_account_tokens",
    ),
]
