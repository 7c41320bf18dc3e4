from __future__ import annotations

from django.urls import path

from incidents.communications import views

urlpatterns = [
    path("incidents/<str:reference>/communications/", views.section, name="communications"),
    path(
        "incidents/<str:reference>/communications/generate",
        views.generate,
        name="communication_generate",
    ),
    path(
        "incidents/<str:reference>/communications/<int:pk>/edit",
        views.edit,
        name="communication_edit",
    ),
    path(
        "incidents/<str:reference>/communications/<int:pk>/approve",
        views.approve,
        name="communication_approve",
    ),
    path(
        "incidents/<str:reference>/communications/<int:pk>/send",
        views.send,
        name="communication_send",
    ),
    path(
        "incidents/<str:reference>/communications/<int:pk>/correct",
        views.correct,
        name="communication_correct",
    ),
    path(
        "incidents/<str:reference>/communications/<int:pk>/discard",
        views.discard,
        name="communication_discard",
    ),
    path(
        "incidents/<str:reference>/communications/<int:pk>/retract",
        views.retract,
        name="communication_retract",
    ),
    path("communications/templates/", views.template_list, name="communication_templates"),
    path("communications/templates/new", views.template_edit, name="communication_template_new"),
    path(
        "communications/templates/<slug:slug>/edit",
        views.template_edit,
        name="communication_template_edit",
    ),
]
