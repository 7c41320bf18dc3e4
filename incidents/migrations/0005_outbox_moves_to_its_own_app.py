# The outbox moved to the outbox app (floor 0) so deployments can use it too. Rows still waiting
# are carried over, with their ids, before this app's table goes.

from django.db import migrations

COLUMNS = "id, task, kwargs, created_at, published_at, attempts, last_error"


def copy(schema_editor, source: str, target: str) -> None:
    # Plain SQL keeps every column as it was; the ORM would stamp created_at anew.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {target} ({COLUMNS}) SELECT {COLUMNS} FROM {source}")
        if schema_editor.connection.vendor == "postgresql":
            # Explicit ids leave the sequence behind them.
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{target}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {target}), 0) + 1, false)"
            )


def carry_over(apps, schema_editor):
    copy(
        schema_editor,
        apps.get_model("incidents", "OutboxMessage")._meta.db_table,
        apps.get_model("outbox", "OutboxMessage")._meta.db_table,
    )


def carry_back(apps, schema_editor):
    copy(
        schema_editor,
        apps.get_model("outbox", "OutboxMessage")._meta.db_table,
        apps.get_model("incidents", "OutboxMessage")._meta.db_table,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0004_default_communication_templates"),
        ("outbox", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(carry_over, carry_back),
        migrations.DeleteModel(name="OutboxMessage"),
    ]
