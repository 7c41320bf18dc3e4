"""The communication templates Hindsight ships (incidents.communications.defaults).

Rows are matched by slug and never overwritten, so re-running this (or load_demo) keeps every
template someone edited. Reversing deletes only the shipped templates nobody has changed.
"""

from django.db import migrations


def install(apps, schema_editor):
    from incidents.communications.defaults import DEFAULT_TEMPLATES

    template_model = apps.get_model("incidents", "CommunicationTemplate")
    for values in DEFAULT_TEMPLATES:
        template_model.objects.get_or_create(
            slug=values["slug"], defaults={k: v for k, v in values.items() if k != "slug"}
        )


def uninstall(apps, schema_editor):
    from incidents.communications.defaults import DEFAULT_TEMPLATES

    template_model = apps.get_model("incidents", "CommunicationTemplate")
    for values in DEFAULT_TEMPLATES:
        template_model.objects.filter(**values).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0003_delivery_and_status_page"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
