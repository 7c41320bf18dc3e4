from __future__ import annotations

from django.urls import path

from feed.api.views import FeedView

urlpatterns = [path("events", FeedView.as_view(), name="events")]
