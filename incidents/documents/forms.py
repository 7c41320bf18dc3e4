"""Forms of the import page: validation only; the views call the planner and the service.

The document travels between preview and confirmation signed (django.core.signing, with the
title and service chosen), so confirming imports exactly the text that was previewed, and a
person who only has to add a title need not upload the file again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import signing

from deployments.models import Service
from incidents.documents.importer import MAX_DOCUMENT_BYTES

SALT = "incidents.postmortem-import"
# A preview left open longer than this is read again before it is imported.
MAX_AGE_SECONDS = 6 * 60 * 60


def sign_document(*, text: str, title: str, service: str) -> str:
    return signing.dumps(
        {"text": text, "title": title, "service": service}, salt=SALT, compress=True
    )


def unsign_document(value: str) -> dict[str, str]:
    """The signed document; raises signing.BadSignature (expired ones too)."""
    payload = signing.loads(value, salt=SALT, max_age=MAX_AGE_SECONDS)
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        raise signing.BadSignature("Not a document.")
    return payload


class ImportForm(forms.Form):
    file = forms.FileField(
        required=False,
        label="Markdown file",
        help_text="A .md post-mortem, up to 1 MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".md,.markdown,.txt,text/markdown,text/plain"}
        ),
    )
    markdown = forms.CharField(
        required=False,
        label="Or paste the Markdown",
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="As the document says",
        help_text="The service this incident belongs to, when the document names none here.",
    )
    title = forms.CharField(
        required=False,
        max_length=200,
        help_text="Only needed when the document has no '# ' title.",
    )
    # The document read on an earlier submit, so fixing the title or service needs no re-upload.
    document = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload and upload.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {MAX_DOCUMENT_BYTES:,} (1 MB)."
            )
        return upload

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        upload, pasted = data.get("file"), data.get("markdown") or ""
        if upload:
            data["data"] = upload.read(MAX_DOCUMENT_BYTES + 1)
        elif pasted.strip():
            data["data"] = pasted
        elif data.get("document"):
            try:
                data["data"] = unsign_document(data["document"])["text"]
            except signing.BadSignature:
                raise forms.ValidationError("The document expired; upload it again.") from None
        elif not self.errors:
            self.add_error("file", "Choose a Markdown file, or paste the document below.")
        return data

    def field_for(self, code: str) -> str:
        """Which field an import error belongs to."""
        if code == "no_title":
            return "title"
        if code == "service":
            return "service"
        return "file" if self.cleaned_data.get("file") else "markdown"


class ConfirmForm(forms.Form):
    document = forms.CharField(widget=forms.HiddenInput)
    # Chosen on a preview that found the document imported already: a new incident anyway.
    force = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_document(self) -> dict[str, str]:
        try:
            return unsign_document(self.cleaned_data["document"])
        except signing.BadSignature:
            raise forms.ValidationError(
                "This preview expired or was changed; upload the document again."
            ) from None


class SectionTextForm(forms.Form):
    """A section as text, with the signed snapshot of what the editor opened (textedit.Opened)."""

    text = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 18}))
    opened = forms.CharField(widget=forms.HiddenInput)
    # The text the preview shown was made of: Apply on a text changed after it previews again.
    previewed = forms.CharField(required=False, widget=forms.HiddenInput)
    # After a partial apply: the signed rows held back for a choice (textresolve.Pending), and
    # the choice pressed, "mine:N" or "theirs:N".
    pending = forms.CharField(required=False, widget=forms.HiddenInput)
    resolve = forms.RegexField(regex=r"^(mine|theirs):\d+$", required=False)
