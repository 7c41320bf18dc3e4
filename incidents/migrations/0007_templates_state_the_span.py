"""The shipped templates that nobody has edited state when an incident happened with the new
`span` fact, which prints both dates when it crosses midnight; before, "from 23:50 to 00:10 UTC
on January 2" put the end on the wrong day. A template someone changed is left as it is."""

from django.db import migrations

# The bodies as shipped before, and as shipped now, by slug.
BEFORE = {
    'user-email-resolved': 'Hello {{ service }} users,\n\nOn {{ started_at|date:"F j, Y" }}, {{ service }} was unavailable for {% if duration %}{{ duration }}{% else %}a while{% endif %}{% if ended_at %}, from {{ started_at|date:"H:i" }} to {{ ended_at|date:"H:i T" }}{% endif %}. The problem has been fixed and everything is working normally again.\n\n{% if components %}What was affected: {{ components|join:", " }}.\n\n{% endif %}We are sorry for the trouble this caused you. We have put extra safeguards in place so that the same problem does not happen again.\n\nIf anything still does not work as it should, please get in touch with our support team.\n\nThank you for your patience.\n\nThe {{ service }} team',
    'status-resolved': 'This incident is resolved. {{ service }} was affected {% if duration %}for {{ duration }}, from {{ started_at|date:"H:i" }} to {{ ended_at|date:"H:i T" }} on {{ started_at|date:"F j, Y" }}{% else %}earlier today{% endif %}.\n\n{% if components %}Affected: {{ components|join:", " }}.\n\n{% endif %}Thank you for your patience.',
    'internal-summary': '**{{ reference }}: {{ title }}**\n{{ severity }} · {{ status }} · post-mortem {{ postmortem_state|lower }}\n\n**When:** {{ started_at|date:"Y-m-d H:i T" }}{% if ended_at %} to {{ ended_at|date:"H:i T" }} ({{ duration }}){% endif %}{% if time_to_detect %}; detected after {{ time_to_detect }}{% endif %}{% if time_to_mitigate %}, mitigated after {{ time_to_mitigate }}{% endif %}.\n\n{% if summary %}## Summary\n\n{{ summary }}\n\n{% endif %}{% if impact %}## Impact\n\n{{ impact }}\n\n{% endif %}{% if root_cause %}## Root cause\n\n{{ root_cause }}\n\n{% endif %}{% if contributing_factors %}## Contributing factors\n\n{% for factor in contributing_factors %}- {{ factor }}\n{% endfor %}\n{% endif %}{% if action_items %}## Action items ({{ open_action_items }} open)\n\n{% for item in action_items %}- {{ item.title }} ({{ item.status|lower }}{% if item.owner %}, {{ item.owner }}{% endif %}{% if item.due_date %}, due {{ item.due_date|date:"M j" }}{% endif %}{% if item.blocks_deployments %}, blocks deployments{% endif %})\n{% endfor %}\n{% endif %}{% if next_step %}## Next step\n\n{{ next_step }}\n\n{% endif %}Post-mortem: {{ incident_url }}',
}
AFTER = {
    'user-email-resolved': 'Hello {{ service }} users,\n\nOn {{ started_at|date:"F j, Y" }}, {{ service }} was unavailable for {% if duration %}{{ duration }}{% else %}a while{% endif %}{% if ended_at %}, {{ span }}{% endif %}. The problem has been fixed and everything is working normally again.\n\n{% if components %}What was affected: {{ components|join:", " }}.\n\n{% endif %}We are sorry for the trouble this caused you. We have put extra safeguards in place so that the same problem does not happen again.\n\nIf anything still does not work as it should, please get in touch with our support team.\n\nThank you for your patience.\n\nThe {{ service }} team',
    'status-resolved': 'This incident is resolved. {{ service }} was affected {% if duration %}on {{ started_at|date:"F j, Y" }} for {{ duration }}, {{ span }}{% else %}earlier today{% endif %}.\n\n{% if components %}Affected: {{ components|join:", " }}.\n\n{% endif %}Thank you for your patience.',
    'internal-summary': '**{{ reference }}: {{ title }}**\n{{ severity }} · {{ status }} · post-mortem {{ postmortem_state|lower }}\n\n**When:** {{ started_at|date:"Y-m-d" }}, {% if ended_at %}{{ span }} ({{ duration }}){% else %}since {{ started_at|date:"H:i T" }}{% endif %}{% if time_to_detect %}; detected after {{ time_to_detect }}{% endif %}{% if time_to_mitigate %}, mitigated after {{ time_to_mitigate }}{% endif %}.\n\n{% if summary %}## Summary\n\n{{ summary }}\n\n{% endif %}{% if impact %}## Impact\n\n{{ impact }}\n\n{% endif %}{% if root_cause %}## Root cause\n\n{{ root_cause }}\n\n{% endif %}{% if contributing_factors %}## Contributing factors\n\n{% for factor in contributing_factors %}- {{ factor }}\n{% endfor %}\n{% endif %}{% if action_items %}## Action items ({{ open_action_items }} open)\n\n{% for item in action_items %}- {{ item.title }} ({{ item.status|lower }}{% if item.owner %}, {{ item.owner }}{% endif %}{% if item.due_date %}, due {{ item.due_date|date:"M j" }}{% endif %}{% if item.blocks_deployments %}, blocks deployments{% endif %})\n{% endfor %}\n{% endif %}{% if next_step %}## Next step\n\n{{ next_step }}\n\n{% endif %}Post-mortem: {{ incident_url }}',
}


def forward(apps, schema_editor):
    template_model = apps.get_model("incidents", "CommunicationTemplate")
    for slug, body in BEFORE.items():
        template_model.objects.filter(slug=slug, body_template=body).update(
            body_template=AFTER[slug]
        )


def backward(apps, schema_editor):
    template_model = apps.get_model("incidents", "CommunicationTemplate")
    for slug, body in AFTER.items():
        template_model.objects.filter(slug=slug, body_template=body).update(
            body_template=BEFORE[slug]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_communication_facts"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
