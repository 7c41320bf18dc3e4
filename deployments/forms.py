"""Forms of the system side's pages and admin. They validate; services write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from deployments.models import GateRule, HealthCheck
from deployments.probing import validate_target_url
from deployments.services import HEALTH_CHECK_FIELDS, gate_rule_check


class GateRuleForm(forms.ModelForm):
    class Meta:
        model = GateRule
        fields = ["kind", "action", "path", "min_size", "max_size", "enabled", "order"]
        help_texts = {
            "path": "Required artifact: the file that must be in the build, e.g. _worker.js. "
            "Stale build: the file compared with the previous deployment's; leave it empty to "
            "compare the whole build. Other kinds take no path.",
            "min_size": "Bytes; required artifact rules only (100 KB is 102400).",
            "max_size": "Bytes; required artifact rules only.",
            "action": "Block stops the deployment; warn only reports what the rule found.",
            "order": "Rules run from the lowest number up.",
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not {"kind", "action"} & set(self.errors):
            try:
                gate_rule_check(
                    kind=cleaned.get("kind", ""),
                    action=cleaned.get("action", ""),
                    path=cleaned.get("path") or "",
                    min_size=cleaned.get("min_size"),
                    max_size=cleaned.get("max_size"),
                )
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


class HealthCheckForm(forms.ModelForm):
    """The SSRF guard's save-time check, as the API and services apply it."""

    class Meta:
        model = HealthCheck
        fields = ["service", *sorted(HEALTH_CHECK_FIELDS)]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        validate_target_url(url)
        return url
