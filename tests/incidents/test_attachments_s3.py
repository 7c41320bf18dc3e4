"""Attachments in an S3-compatible bucket: the settings the README documents pick django-storages'
S3 backend, and a file goes in, comes out through the login-checked view, and goes with its
incident. The bucket is moto's in-process S3, which answers boto3 as the real API does."""

from __future__ import annotations

import json

import boto3
import pytest
from django.urls import reverse
from moto import mock_aws

from incidents.models import Attachment
from incidents.postmortem import services
from tests.factories import IncidentFactory, user_with_role
from tests.incidents.test_attachments import PNG, upload
from tests.test_settings import run_python

pytestmark = pytest.mark.django_db

BUCKET = "hindsight-attachments"
S3_ENVIRONMENT = {
    "HINDSIGHT_S3_BUCKET": BUCKET,
    "HINDSIGHT_S3_REGION": "us-east-1",
    "HINDSIGHT_S3_ACCESS_KEY": "hindsight",
    "HINDSIGHT_S3_SECRET_KEY": "not-a-real-secret",
    "HINDSIGHT_S3_PREFIX": "incidents",
}


def storage_from_environment() -> dict:
    """STORAGES["default"] as hindsight/settings/base.py builds it from the README's variables."""
    result = run_python(
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.STORAGES['default']))",
        60,
        **S3_ENVIRONMENT,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_bucket_variables_choose_the_s3_backend_with_a_private_acl():
    storage = storage_from_environment()
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == BUCKET
    assert storage["OPTIONS"]["default_acl"] == "private"
    assert storage["OPTIONS"]["location"] == "incidents"


def test_a_file_goes_into_the_bucket_out_through_the_app_and_away_with_its_incident(
    client, settings, django_capture_on_commit_callbacks
):
    storage = storage_from_environment()
    with mock_aws():
        bucket = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id="hindsight",
            aws_secret_access_key="not-a-real-secret",
        )
        bucket.create_bucket(Bucket=BUCKET)
        settings.STORAGES = {**settings.STORAGES, "default": storage}
        incident = IncidentFactory()
        editor = user_with_role("editor")
        client.force_login(editor)

        assert upload(client, incident, "graph.png", PNG).status_code == 201
        attachment = Attachment.objects.get()
        [stored] = bucket.list_objects_v2(Bucket=BUCKET)["Contents"]
        assert stored["Key"] == f"incidents/{attachment.file.name}"
        assert stored["Size"] == len(PNG)

        client.force_login(user_with_role("viewer"))
        response = client.get(attachment.path)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PNG
        zipped = client.get(reverse("incidents:postmortem_zip", args=[incident.reference]))
        assert zipped.status_code == 200

        with django_capture_on_commit_callbacks(execute=True):
            services.incident_delete(incident=incident, user=editor)
        assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
