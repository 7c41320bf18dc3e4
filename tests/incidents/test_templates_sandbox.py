"""Communication templates run in a sandbox: refused at save when they would fail or leak, and
unable to reach anything but the plain facts they are given."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from incidents.communications import services
from incidents.communications.defaults import DEFAULT_TEMPLATES, default_templates_ensure
from incidents.communications.facts import duration_words, incident_facts
from incidents.communications.forms import CommunicationTemplateForm
from incidents.communications.placeholders import PLACEHOLDERS, PUBLIC_AUDIENCES
from incidents.communications.sandbox import check_template, render_template
from incidents.models import Audience, CommunicationTemplate
from tests.factories import T0, IncidentFactory, user_with_role

INTERNAL = [p.name for p in PLACEHOLDERS if not p.public]


def refusal(source: str, audience: str = Audience.USER_EMAIL) -> str:
    with pytest.raises(ValidationError) as caught:
        check_template(source, audience=audience)
    return " ".join(caught.value.messages)


class TestCheckAtSave:
    def test_an_unknown_placeholder_is_named_with_a_suggestion(self):
        message = refusal("Hello {{ servise }} users")
        assert "Unknown placeholder “servise”" in message
        assert "Did you mean “service”?" in message

    def test_a_syntax_error_says_where(self):
        message = refusal("{% if is_resolved %}Resolved.")
        assert message.startswith("Template syntax error:")
        assert "Unclosed tag on line 1: 'if'" in message

    @pytest.mark.parametrize(
        "source",
        [
            "{{ incident.__class__ }}",
            "{{ service.__class__.__mro__ }}",
            "{{ started_at._meta }}",
            "{% for c in components %}{{ c.__len__ }}{% endfor %}",
            "{% if service.a__b %}x{% endif %}",
        ],
    )
    def test_anything_with_an_underscore_attribute_is_refused(self, source):
        assert "reaches for Python internals" in refusal(source)

    @pytest.mark.parametrize(
        "source",
        [
            "{{ started_at.astimezone }}",
            "{{ service.upper }}",
            "{% for c in components %}{{ c.strip }}{% endfor %}",
            "{{ components.0 }}",
        ],
    )
    def test_attribute_walks_from_a_fact_are_refused(self, source):
        assert "Unknown placeholder" in refusal(source)

    @pytest.mark.parametrize(
        "source",
        [
            "{% debug %}",
            "{% load static %}",
            "{% include 'base.html' %}",
            "{% extends 'base.html' %}",
            "{% url 'incidents:dashboard' %}",
            "{% lorem 100000 w %}",
            "{{ service|pprint }}",
            "{{ service|floatformat:100000 }}",
        ],
    )
    def test_tags_and_filters_outside_the_sandbox_library_are_syntax_errors(self, source):
        assert refusal(source).startswith("Template syntax error:")

    @pytest.mark.parametrize("name", INTERNAL)
    @pytest.mark.parametrize("audience", sorted(PUBLIC_AUDIENCES))
    def test_an_internal_placeholder_is_refused_in_a_public_template(self, name, audience):
        assert f"“{name}” is internal" in refusal(f"Note: {{{{ {name} }}}}", audience)

    @pytest.mark.parametrize(
        "source",
        [
            "{% if root_cause %}x{% endif %}",
            "{% if service and not authors %}x{% endif %}",
            "{{ service|default:title }}",
            "{% with x=summary %}{{ x }}{% endwith %}",
            "{% for item in action_items %}{{ item.title }}{% endfor %}",
        ],
    )
    def test_internal_placeholders_are_found_in_conditions_filters_with_and_loops(self, source):
        assert "is internal" in refusal(source)

    def test_internal_placeholders_are_fine_for_internal_audiences(self):
        source = (
            "{{ root_cause }} {% for item in action_items %}{{ forloop.counter }}. "
            "{{ item.title }} ({{ item.owner|default:'nobody' }}){% endfor %}"
        )
        check_template(source, audience=Audience.INTERNAL)
        check_template(source, audience=Audience.EXECUTIVE)

    def test_an_item_key_that_a_list_does_not_have_is_refused(self):
        message = refusal(
            "{% for item in action_items %}{{ item.email }}{% endfor %}", Audience.INTERNAL
        )
        assert "“item.email”" in message
        assert "blocks_deployments" in message  # it lists the keys there are

    def test_loops_nest_two_deep_at_most(self):
        two = "{% for a in components %}{% for b in components %}x{% endfor %}{% endfor %}"
        check_template(two, audience=Audience.USER_EMAIL)
        three = (
            "{% for a in components %}{% for b in components %}{% for c in components %}"
            "x{% endfor %}{% endfor %}{% endfor %}"
        )
        assert "nested at most 2 deep" in refusal(three)

    @pytest.mark.parametrize("values", DEFAULT_TEMPLATES, ids=lambda v: v["slug"])
    def test_every_shipped_template_passes_its_own_check(self, values):
        for field in ("subject_template", "body_template"):
            check_template(values[field], audience=values["audience"])


@pytest.mark.django_db
class TestRenderingPrivacy:
    def test_a_public_template_that_slipped_past_the_check_renders_internals_as_nothing(self):
        incident = IncidentFactory(
            title="Secret codename", summary="The root cause was Bob's typo in db-primary."
        )
        facts = incident_facts(incident, audience=Audience.USER_EMAIL)
        # As if edited in the database around the forms: render without the check.
        from django.template import Context

        from incidents.communications.sandbox import ENGINE

        text = ENGINE.from_string("[{{ title }}][{{ summary }}][{{ authors }}]").render(
            Context(facts, autoescape=False)
        )
        assert text == "[][][]"
        assert set(facts) == {p.name for p in PLACEHOLDERS if p.public}

    def test_render_template_refuses_what_check_template_refuses(self):
        with pytest.raises(ValidationError, match="is internal"):
            render_template("{{ summary }}", {"summary": "x"}, audience=Audience.STATUS_PAGE)

    def test_facts_are_plain_values_never_model_instances(self):
        incident = IncidentFactory()
        facts = incident_facts(incident, audience=Audience.INTERNAL)

        def plain(value) -> bool:
            if isinstance(value, dict):
                return all(plain(v) for v in value.values())
            if isinstance(value, list):
                return all(plain(v) for v in value)
            return value is None or type(value).__module__ in ("builtins", "datetime")

        assert all(plain(value) for value in facts.values()), facts


class TestDurationWords:
    @pytest.mark.parametrize(
        ("minutes", "words"),
        [
            (0.5, "less than a minute"),
            (1, "about 1 minute"),
            (16, "about 16 minutes"),
            (60, "about 1 hour"),
            (95, "about 1 hour and 35 minutes"),
            (7 * 60 + 20, "about 7 hours"),
            (72 * 60, "about 3 days"),
        ],
    )
    def test_a_span_reads_as_a_person_says_it(self, minutes, words):
        assert duration_words(timedelta(minutes=minutes)) == words

    def test_an_open_incident_has_no_duration(self):
        assert duration_words(None) == ""


@pytest.mark.django_db
class TestTemplateForms:
    def form(self, **changes) -> CommunicationTemplateForm:
        data = {
            "name": "Custom",
            "slug": "custom",
            "audience": Audience.USER_EMAIL,
            "phase": "",
            "subject_template": "{{ service }} update",
            "body_template": "Hello {{ service }} users.",
            **changes,
        }
        return CommunicationTemplateForm(data)

    def test_a_valid_template_saves(self):
        form = self.form()
        assert form.is_valid(), form.errors
        services.communication_template_save(template=form.instance)
        assert CommunicationTemplate.objects.filter(slug="custom").exists()

    @pytest.mark.parametrize(
        ("field", "source", "expected"),
        [
            ("body_template", "{{ nope }}", "Unknown placeholder “nope”"),
            ("body_template", "{% for x in components %}", "Template syntax error"),
            ("subject_template", "{{ incident.__class__ }}", "Python internals"),
            ("body_template", "{{ root_cause }}", "is internal"),
        ],
    )
    def test_a_bad_template_is_a_field_error_at_save(self, field, source, expected):
        form = self.form(**{field: source})
        assert not form.is_valid()
        assert expected in " ".join(map(str, form.errors[field]))

    def test_changing_the_audience_to_public_rechecks_the_placeholders(self):
        form = self.form(audience=Audience.INTERNAL, body_template="{{ root_cause }}")
        assert form.is_valid(), form.errors
        assert not self.form(body_template="{{ root_cause }}").is_valid()


@pytest.mark.django_db
class TestTemplatePages:
    def test_viewers_read_the_templates_and_editors_change_them(self, client):
        default_templates_ensure()
        url = reverse("incidents:communication_template_edit", args=["status-resolved"])
        client.force_login(user_with_role("viewer"))
        listing = client.get(reverse("incidents:communication_templates")).content.decode()
        assert "Status page: resolved" in listing
        assert url not in listing
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "x"}).status_code == 403
        client.force_login(user_with_role("editor"))
        assert url in client.get(reverse("incidents:communication_templates")).content.decode()
        assert client.get(url).status_code == 200

    def test_saving_a_bad_template_gets_the_field_error_and_keeps_the_old_one(self, client):
        default_templates_ensure()
        client.force_login(user_with_role("editor"))
        template = CommunicationTemplate.objects.get(slug="status-resolved")
        response = client.post(
            reverse("incidents:communication_template_edit", args=[template.slug]),
            {
                "name": template.name,
                "slug": template.slug,
                "audience": template.audience,
                "phase": template.phase,
                "subject_template": template.subject_template,
                "body_template": "Resolved after {{ duration }}. Cause: {{ root_cause }}",
            },
        )
        assert response.status_code == 422
        assert "“root_cause” is internal" in response.content.decode()
        template.refresh_from_db()
        assert "root_cause" not in template.body_template

    def test_an_editor_can_add_a_template(self, client):
        client.force_login(user_with_role("editor"))
        response = client.post(
            reverse("incidents:communication_template_new"),
            {
                "name": "Heads-up",
                "slug": "heads-up",
                "audience": Audience.STATUS_PAGE,
                "phase": "investigating",
                "subject_template": "Looking into {{ service }}",
                "body_template": 'Since {{ started_at|date:"H:i" }}.',
            },
        )
        assert response.status_code == 302
        assert CommunicationTemplate.objects.get(slug="heads-up").phase == "investigating"


def test_the_shipped_templates_cover_every_audience_and_status_page_phase():
    audiences = {v["audience"] for v in DEFAULT_TEMPLATES}
    assert audiences == set(Audience.values)
    phases = {v["phase"] for v in DEFAULT_TEMPLATES if v["audience"] == Audience.STATUS_PAGE}
    assert phases == {"investigating", "identified", "monitoring", "resolved"}
    executive = next(v for v in DEFAULT_TEMPLATES if v["audience"] == Audience.EXECUTIVE)
    assert executive["body_template"].count("\n") == 4  # five lines


@pytest.mark.django_db
def test_the_executive_summary_renders_as_five_lines():
    default_templates_ensure()
    incident = IncidentFactory(started_at=T0, resolved_at=T0 + timedelta(minutes=16))
    incident.status = "resolved"
    incident.save()
    template = CommunicationTemplate.objects.get(slug="executive-summary")
    draft = services.communication_generate(incident=incident, template=template, user=None)
    assert len(draft.body.strip().splitlines()) == 5
    assert "about 16 minutes" in draft.body
    assert draft.body_html.count("<br") == 4


class TestCostlyTemplates:
    """Two nested loops over a 6,000-character literal (a 12 KB template) took 7.5 s a render:
    loops go over the facts' lists only, and a rendering's loops share a budget of turns."""

    @pytest.mark.parametrize(
        "source",
        [
            '{% for a in "'
            + "x" * 6000
            + '" %}{% for b in "'
            + "y" * 6000
            + '" %}.{% endfor %}{% endfor %}',
            "{% for c in summary %}{{ c }}{% endfor %}",
            "{% for c in lessons|first %}{{ c }}{% endfor %}",
            '{% with text="abc" %}{% for c in text %}{{ c }}{% endfor %}{% endwith %}',
            "{% for lesson in lessons %}{% for c in lesson %}{{ c }}{% endfor %}{% endfor %}",
        ],
    )
    def test_a_loop_over_anything_but_a_list_placeholder_is_refused_at_save(self, source):
        assert "Loops go over a list placeholder" in refusal(source, Audience.INTERNAL)

    def test_loops_over_the_facts_lists_still_work(self):
        source = "{% for item in action_items %}- {{ item.title }}\n{% endfor %}"
        facts = {"action_items": [{"title": "Add the check"}, {"title": "Page on it"}]}
        text = render_template(source, facts, audience=Audience.INTERNAL)
        assert text == "- Add the check\n- Page on it\n"

    def test_nested_loops_past_the_budget_stop_with_a_clear_error(self):
        padding = "{# " + "x" * 12_000 + " #}"  # a 12 KB template: about 80 turns allowed
        source = padding + "{% for a in lessons %}{% for b in notes %}.{% endfor %}{% endfor %}"
        facts = {"lessons": ["l"] * 300, "notes": ["n"] * 300}  # 90,300 turns
        with pytest.raises(ValidationError) as refused:
            render_template(source, facts, audience=Audience.INTERNAL)
        assert "loops would write more" in refused.value.messages[0]

    def test_a_short_template_gets_room_for_long_lists(self):
        source = "{% for a in lessons %}{{ a }}{% endfor %}"
        text = render_template(source, {"lessons": ["l"] * 5000}, audience=Audience.INTERNAL)
        assert len(text) == 5000
