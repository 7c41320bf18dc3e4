# One search document per incident (incidents.insights.search). Its GIN index exists on
# PostgreSQL only: SQLite has no GIN, and its search scans the document's text instead. Existing
# incidents get their documents from `python manage.py search_rebuild`.

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex in the migration state everywhere, in the database on PostgreSQL only."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0031_updated_at_for_sync"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "incident",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="incidents.incident",
                    ),
                ),
                ("heading", models.TextField(blank=True)),
                ("prose", models.TextField(blank=True)),
                ("rows", models.TextField(blank=True)),
                (
                    "vector",
                    django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
                ),
                (
                    "heading_vector",
                    django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
                ),
                ("stale_since", models.DateTimeField(blank=True, null=True)),
                ("built_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        AddIndexOnPostgreSQL(
            model_name="searchdocument",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["vector"], name="searchdocument_vector_idx"
            ),
        ),
    ]
