"""The templates Hindsight ships: one per audience and status page phase.

The public post-mortem's template states the public facts and leaves the rest to the editor
between PROMPT_OPEN and PROMPT_CLOSE: what went wrong and what changed, in customers' words. A
draft that still holds such a prompt cannot be approved (communication_approve).

Migration 0004 installs them and load_demo makes sure they exist; neither overwrites a template
someone has edited (rows are matched by slug). Each must pass check_template for its audience;
tests/incidents/test_templates_sandbox.py holds them to it.
"""

from __future__ import annotations

from typing import Any

from incidents.models import CommunicationTemplate

USER_EMAIL_SLUG = "user-email-resolved"
PUBLIC_POSTMORTEM_SLUG = "public-postmortem"
PROMPT_OPEN, PROMPT_CLOSE = "[[", "]]"

_WHEN = '{{ started_at|date:"F j, Y" }}'

DEFAULT_TEMPLATES: list[dict[str, Any]] = [
    {
        "slug": USER_EMAIL_SLUG,
        "name": "Email to users: resolved",
        "audience": "user_email",
        "phase": "resolved",
        "subject_template": "{{ service }}: the service interruption is resolved",
        "body_template": (
            "Hello {{ service }} users,\n\n"
            f"On {_WHEN}, {{{{ service }}}} was unavailable for "
            "{% if duration %}{{ duration }}{% else %}a while{% endif %}"
            "{% if ended_at %}, {{ span }}{% endif %}. "
            "The problem has been fixed and everything is working normally again.\n\n"
            '{% if components %}What was affected: {{ components|join:", " }}.\n\n{% endif %}'
            "We are sorry for the trouble this caused you. We have put extra safeguards in "
            "place so that the same problem does not happen again.\n\n"
            "If anything still does not work as it should, please get in touch with our "
            "support team.\n\n"
            "Thank you for your patience.\n\n"
            "The {{ service }} team"
        ),
    },
    {
        "slug": "status-investigating",
        "name": "Status page: investigating",
        "audience": "status_page",
        "phase": "investigating",
        "subject_template": "Investigating problems with {{ service }}",
        "body_template": (
            "We are looking into problems with {{ service }}"
            '{% if components %} affecting {{ components|join:", " }}{% endif %}, '
            'since {{ started_at|date:"H:i T" }}.\n\n'
            "{% if impact %}{{ impact }}\n\n{% endif %}"
            "We will post an update here as soon as we know more."
        ),
    },
    {
        "slug": "status-identified",
        "name": "Status page: identified",
        "audience": "status_page",
        "phase": "identified",
        "subject_template": "Cause found: {{ service }}",
        "body_template": (
            "We have found what is causing the problems with {{ service }} and are working on "
            "a fix.\n\n"
            "{% if status_line %}{{ status_line }}\n\n{% endif %}"
            "{% if next_step %}{{ next_step }}{% endif %}"
        ),
    },
    {
        "slug": "status-monitoring",
        "name": "Status page: monitoring",
        "audience": "status_page",
        "phase": "monitoring",
        "subject_template": "Fix in place: {{ service }}",
        "body_template": (
            "A fix is in place and {{ service }} is working again. We are watching it closely "
            "to make sure it stays that way.\n\n"
            "{% if status_line %}{{ status_line }}{% endif %}"
        ),
    },
    {
        "slug": "status-resolved",
        "name": "Status page: resolved",
        "audience": "status_page",
        "phase": "resolved",
        "subject_template": "Resolved: {{ service }}",
        "body_template": (
            "This incident is resolved. {{ service }} was affected "
            f"{{% if duration %}}on {_WHEN} for {{{{ duration }}}}, {{{{ span }}}}"
            "{% else %}earlier today{% endif %}.\n\n"
            '{% if components %}Affected: {{ components|join:", " }}.\n\n{% endif %}'
            "Thank you for your patience."
        ),
    },
    {
        "slug": PUBLIC_POSTMORTEM_SLUG,
        "name": "Public post-mortem",
        "audience": "public_postmortem",
        "phase": "",
        "subject_template": f"What happened to {{{{ service }}}} on {_WHEN}",
        "body_template": (
            "## What happened\n\n"
            f"On {_WHEN}, {{{{ service }}}} "
            "{% if duration %}did not work as it should for {{ duration }}, {{ span }}"
            "{% else %}had problems{% endif %}.\n\n"
            '{% if components %}What was affected: {{ components|join:", " }}.\n\n{% endif %}'
            "{% if impact %}{{ impact }}\n\n{% endif %}"
            "## Why it happened\n\n"
            "[[In plain words for customers: what went wrong. No internal names.]]\n\n"
            "## What we have changed\n\n"
            "[[What fixed it, and what we changed so that it does not happen again.]]\n\n"
            "We are sorry for the trouble this caused, and thank you for your patience.\n\n"
            "The {{ service }} team"
        ),
    },
    {
        "slug": "internal-summary",
        "name": "Internal summary",
        "audience": "internal",
        "phase": "",
        "subject_template": "[{{ reference }}] {{ title }} ({{ status }})",
        "body_template": (
            "**{{ reference }}: {{ title }}**\n"
            "{{ severity }} · {{ status }} · post-mortem {{ postmortem_state|lower }}\n\n"
            '**When:** {{ started_at|date:"Y-m-d" }}, '
            '{% if ended_at %}{{ span }} ({{ duration }}){% else %}since {{ started_at|date:"H:i T" }}'
            "{% endif %}"
            "{% if time_to_detect %}; detected after {{ time_to_detect }}{% endif %}"
            "{% if time_to_mitigate %}, mitigated after {{ time_to_mitigate }}{% endif %}.\n\n"
            "{% if summary %}## Summary\n\n{{ summary }}\n\n{% endif %}"
            "{% if impact %}## Impact\n\n{{ impact }}\n\n{% endif %}"
            "{% if root_cause %}## Root cause\n\n{{ root_cause }}\n\n{% endif %}"
            "{% if contributing_factors %}## Contributing factors\n\n"
            "{% for factor in contributing_factors %}- {{ factor }}\n{% endfor %}\n{% endif %}"
            "{% if action_items %}## Action items ({{ open_action_items }} open)\n\n"
            "{% for item in action_items %}- {{ item.title }} ({{ item.status|lower }}"
            "{% if item.owner %}, {{ item.owner }}{% endif %}"
            '{% if item.due_date %}, due {{ item.due_date|date:"M j" }}{% endif %}'
            "{% if item.blocks_deployments %}, blocks deployments{% endif %})\n"
            "{% endfor %}\n{% endif %}"
            "{% if next_step %}## Next step\n\n{{ next_step }}\n\n{% endif %}"
            "Post-mortem: {{ incident_url }}"
        ),
    },
    {
        "slug": "executive-summary",
        "name": "Executive summary",
        "audience": "executive",
        "phase": "",
        "subject_template": "{{ service }} incident {{ reference }}: summary for leadership",
        "body_template": (
            "**What:** {{ title }} ({{ severity }}, {{ status|lower }}).\n"
            '**When:** {{ started_at|date:"M j, H:i T" }}'
            "{% if duration %}, {{ duration }} in all{% else %}, still open{% endif %}.\n"
            "**Who was affected:** users of {{ service }}{% if components %} "
            '({{ components|join:", " }}){% endif %}.\n'
            '**Why:** {{ root_cause|default:"under investigation" }}.\n'
            "**Next:** {{ open_action_items }} open action item{{ open_action_items|pluralize }}"
            "{% if blocking_action_items %}, {{ blocking_action_items }} of them holding back "
            "deployments{% endif %}."
        ),
    },
]


def default_templates_ensure() -> int:
    """Create the shipped templates that are missing; returns how many were created."""
    created = 0
    for values in DEFAULT_TEMPLATES:
        _row, made = CommunicationTemplate.objects.get_or_create(
            slug=values["slug"], defaults={k: v for k, v in values.items() if k != "slug"}
        )
        created += made
    return created
