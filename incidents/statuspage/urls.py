"""The public status page, its feeds and subscriber pages (the only pages without a login), and
behind the login the maintenance pages and the switch that puts an incident on the page."""

from __future__ import annotations

from django.urls import include, path

from incidents.statuspage import views

public = [
    path("", views.status_page, name="status_page"),
    path("history/", views.status_history, name="status_history"),
    path("incidents/<str:reference>/", views.status_incident, name="status_incident"),
    path("feed.rss", views.status_feed_rss, name="status_feed_rss"),
    path("feed.atom", views.status_feed_atom, name="status_feed_atom"),
    path("summary.json", views.status_summary, name="status_summary"),
    path("components/<int:pk>/badge.svg", views.component_badge, name="status_component_badge"),
    path("subscribe/", views.subscribe, name="status_subscribe"),
    path("subscribe/sent/", views.subscribe_sent, name="status_subscribe_sent"),
    path("confirm/<str:token>/", views.confirm, name="status_confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="status_unsubscribe"),
    path("subscription/<str:token>/", views.subscription, name="status_subscription"),
]

maintenance = [
    path("", views.maintenance_list, name="maintenance_list"),
    path("new/", views.maintenance_create, name="maintenance_create"),
    path("<int:pk>/edit/", views.maintenance_edit, name="maintenance_edit"),
    path("<int:pk>/delete/", views.maintenance_delete, name="maintenance_delete"),
]

components = [
    path("", views.component_list, name="component_list"),
    path("<int:pk>/status", views.component_status, name="component_status"),
    path("new/", views.component_create, name="component_create"),
    path("<int:pk>/edit/", views.component_edit, name="component_edit"),
    path("<int:pk>/delete/", views.component_delete, name="component_delete"),
    path("groups/new/", views.component_group_create, name="component_group_create"),
    path("groups/<int:pk>/edit/", views.component_group_edit, name="component_group_edit"),
    path("groups/<int:pk>/delete/", views.component_group_delete, name="component_group_delete"),
]

# Whether an incident is on the status page: set from the incident's page, by editors.
visibility = [
    path("publish", views.incident_publish, name="incident_publish"),
    path("unpublish", views.incident_unpublish, name="incident_unpublish"),
]

urlpatterns = [
    path("status/", include(public)),
    path("maintenance/", include(maintenance)),
    path("components/", include(components)),
    path("incidents/<str:reference>/status-page/", include(visibility)),
]
