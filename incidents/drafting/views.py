"""The incident page's buttons for the draft from the facts: "Start the post-mortem", and Keep or
Discard on each proposal or on all of them. Plain form posts answered with a redirect to where
the author was: each click changes the counts in the panel as well as the row."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required
from incidents.drafting import services
from incidents.drafting.facts import PROSE
from incidents.drafting.selectors import PROSE_LABELS
from incidents.postmortem.views import get_incident

ANCHOR = "draft"


def _back(reference: str, anchor: str = ANCHOR) -> HttpResponse:
    return redirect(f"{reverse('incidents:detail', args=[reference])}#{anchor}")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@require_POST
@editor_required
def draft_propose(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    proposed = services.postmortem_draft_propose(incident=incident, user=request.user)
    left_out = (
        f" {_plural(proposed.discarded, 'proposal')} discarded before "
        f"{'was' if proposed.discarded == 1 else 'were'} left out; write one by hand if you want it."
        if proposed.discarded
        else ""
    )
    if proposed.total == 0:
        messages.info(
            request,
            "Nothing new to propose: every fact Hindsight knows is on the page already"
            + (" or was discarded." if proposed.discarded else ".")
            + left_out,
        )
    else:
        parts = [
            _plural(proposed.events, "timeline line") if proposed.events else "",
            _plural(proposed.causes, "cause") if proposed.causes else "",
            _plural(len(proposed.prose), "text") if proposed.prose else "",
        ]
        messages.success(
            request,
            f"Proposed {', '.join(p for p in parts if p)}. Keep or discard each, or all at once."
            + left_out,
        )
    return _back(incident.reference)


def _decide(request: AuthenticatedHttpRequest, reference: str, *, keep: bool) -> HttpResponse:
    """`what` names one proposal ("timeline:12", "causes:3", "text:summary") or "all"."""
    incident = get_incident(reference)
    what = request.POST.get("what", "")
    kind, _, name = what.partition(":")
    verb = "Kept" if keep else "Discarded"
    if what == "all":
        act = services.proposals_keep_all if keep else services.proposals_discard_all
        count = act(incident=incident, user=request.user)
        messages.success(request, f"{verb} {_plural(count, 'proposal')}.")
        return _back(incident.reference)
    if kind == "text" and name in PROSE:
        act_text = services.proposed_text_keep if keep else services.proposed_text_discard
        done = act_text(incident=incident, field=name, user=request.user)
        if keep and not done:
            messages.info(
                request, f"The {PROSE_LABELS[name].lower()} has text already; it was left as is."
            )
        return _back(incident.reference)
    model = services.PROPOSED_MODELS.get(kind)
    if model is None or not name.isdigit():
        raise Http404(f"No proposal {what!r}.")
    row = get_object_or_404(model, pk=int(name), incident=incident)
    act_row = services.proposal_keep if keep else services.proposal_discard
    act_row(row=row, user=request.user)
    return _back(incident.reference, f"row-{kind}-{row.pk}" if keep else f"section-{kind}")


@require_POST
@editor_required
def draft_keep(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    return _decide(request, reference, keep=True)


@require_POST
@editor_required
def draft_discard(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    return _decide(request, reference, keep=False)
