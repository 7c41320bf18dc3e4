"""Post-mortems in and out of Hindsight as documents: download an incident as Markdown or JSON,
and import a Markdown post-mortem with a preview of what maps where before anything is written.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required, login_required
from incidents.documents import services
from incidents.documents.bundle import postmortem_bundle
from incidents.documents.exports import export_incident
from incidents.documents.forms import ConfirmForm, ImportForm, sign_document
from incidents.documents.importer import DocumentError
from incidents.documents.plan import AlreadyImported, ImportPlan, postmortem_plan
from incidents.models import Incident

UNPROCESSABLE = 422
CONFLICT = 409


@require_GET
@login_required
def postmortem_download(
    request: AuthenticatedHttpRequest, reference: str, fmt: str
) -> HttpResponse:
    try:
        exported = export_incident(reference, fmt)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None
    response = HttpResponse(exported.text(), content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    return response


@require_GET
@login_required
def postmortem_bundle_download(request: AuthenticatedHttpRequest, reference: str) -> FileResponse:
    """The export with its files: Markdown, JSON and every attachment, as one zip."""
    try:
        filename, bundle = postmortem_bundle(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None
    return FileResponse(
        bundle, as_attachment=True, filename=filename, content_type="application/zip"
    )


def _form_page(
    request: AuthenticatedHttpRequest, form: ImportForm, status: int = 200
) -> HttpResponse:
    return render(request, "incidents/import_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@editor_required
def import_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload or paste a document; a valid one is shown as a preview, nothing is written."""
    if request.method == "GET":
        return _form_page(request, ImportForm())
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _form_page(request, form, UNPROCESSABLE)
    data = form.cleaned_data["data"]
    title = form.cleaned_data["title"]
    service = form.cleaned_data["service"]
    slug = service.slug if service else ""
    try:
        plan = postmortem_plan(data=data, title=title or None, service_slug=slug or None)
    except DocumentError as error:
        form.add_error(form.field_for(error.code), error.message)
        if error.code in ("no_title", "service"):
            # The text was read: keep it so only the missing part needs filling in.
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            assert isinstance(form.data, QueryDict)  # bound to request.POST
            form.data = form.data.copy()
            form.data["document"] = sign_document(text=text, title="", service="")
        return _form_page(request, form, UNPROCESSABLE)
    text = data if isinstance(data, str) else data.decode("utf-8-sig")
    signed = sign_document(text=text, title=title, service=slug)
    return _preview_page(request, plan, signed)


def _preview_page(
    request: AuthenticatedHttpRequest, plan: ImportPlan, signed: str, status: int = 200
) -> HttpResponse:
    """What the import will create; when the document looks imported already, a link to that
    incident and the choice to import anyway instead of the plain confirm button."""
    return render(
        request,
        "incidents/import_preview.html",
        {"plan": plan, "draft": plan.draft, "report": plan.draft.report, "signed": signed},
        status=status,
    )


@require_POST
@editor_required
def import_confirm(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Import exactly the previewed document, with the title and service chosen then."""
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        retry = ImportForm()
        retry.errors["file"] = retry.error_class(form.errors["document"])
        return _form_page(request, retry, UNPROCESSABLE)
    document = form.cleaned_data["document"]
    title, slug = document.get("title") or None, document.get("service") or None
    try:
        result = services.postmortem_import(
            data=document["text"],
            user=request.user,
            title=title,
            service_slug=slug,
            force=form.cleaned_data["force"],
        )
    except AlreadyImported:
        # Imported in the meantime (another tab, a colleague): the preview again, saying so.
        plan = postmortem_plan(data=document["text"], title=title, service_slug=slug)
        return _preview_page(request, plan, request.POST["document"], CONFLICT)
    except DocumentError as error:
        # The database changed since the preview (the service was removed, say).
        retry = ImportForm(initial={"document": request.POST["document"]})
        field = {"no_title": "title", "service": "service"}.get(error.code, "file")
        retry.errors[field] = retry.error_class([error.message])
        return _form_page(request, retry, UNPROCESSABLE)
    count = sum(result.report.counts.values())
    messages.success(
        request,
        f"{result.incident.reference} imported: {count} items mapped, "
        f"{len(result.report.unrecognized)} parts kept as other notes.",
    )
    return redirect("incidents:detail", result.incident.reference)
