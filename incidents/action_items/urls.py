from __future__ import annotations

from django.urls import path

from incidents.action_items import views

urlpatterns = [
    path("action-items/", views.action_item_list, name="action_items"),
    path("action-items/<int:pk>/done", views.action_item_done, name="action_item_done"),
    path("action-items/<int:pk>/undone", views.action_item_undone, name="action_item_undone"),
    path("action-items/<int:pk>/assign", views.action_item_assign, name="action_item_assign"),
]
