"""The admins' webhook pages, under /webhooks/."""

from __future__ import annotations

from django.urls import include, path

from incidents.webhooks import views

webhooks = [
    path("", views.webhook_list, name="webhook_list"),
    path("new/", views.webhook_create, name="webhook_create"),
    path("<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("<int:pk>/edit/", views.webhook_edit, name="webhook_edit"),
    path("<int:pk>/secret", views.webhook_rotate, name="webhook_rotate"),
    path("<int:pk>/ping", views.webhook_ping, name="webhook_ping"),
    path(
        "<int:pk>/deliveries/<int:delivery>/redeliver",
        views.webhook_redeliver,
        name="webhook_redeliver",
    ),
    path("<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
]

urlpatterns = [path("webhooks/", include(webhooks))]
