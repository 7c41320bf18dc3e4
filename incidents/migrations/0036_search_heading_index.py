# The search ranks a match in the heading first; it finds the newest of those through this index
# when the word is rare in titles (incidents.insights.search._ranked_page). PostgreSQL only, like
# the document's own GIN index (0032): SQLite has no GIN.

import django.contrib.postgres.indexes
from django.db import migrations


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
        ("incidents", "0035_reminder"),
    ]

    operations = [
        AddIndexOnPostgreSQL(
            model_name="searchdocument",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["heading_vector"], name="searchdocument_heading_idx"
            ),
        ),
    ]
