"""Communication templates: refused at save time if a draft could not be generated from
them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from incidents.communications.sandbox import check_template
from incidents.models import CommunicationTemplate


def communication_template_check(
    *, audience: str, subject_template: str, body_template: str
) -> None:
    """Refuse a template that would fail when a draft is generated from it, field by field."""
    errors: dict[str, list[ValidationError]] = {}
    for field, source in (("subject_template", subject_template), ("body_template", body_template)):
        try:
            check_template(source, audience=audience)
        except ValidationError as error:
            errors[field] = error.error_list
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def communication_template_save(*, template: CommunicationTemplate) -> CommunicationTemplate:
    template.full_clean()
    communication_template_check(
        audience=template.audience,
        subject_template=template.subject_template,
        body_template=template.body_template,
    )
    template.save()
    return template
