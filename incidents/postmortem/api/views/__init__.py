"""The REST face of incidents: viewsets that validate with serializers and write through services.

Incidents are addressed by reference (INC-12, inc-12 or 12). Their rows (timeline events,
causes, lessons, action items, success criteria) are nested under them; a row of another
incident is a 404 however it is asked for.

Optimistic concurrency on the incident row: GET answers a strong ETag, the incident's version
and a digest of the answer ("7.3f9a0c2b1d4e5f60"), so If-None-Match answers 304 only while
nothing in it changed, rows included. PUT and PATCH must send it back in If-Match (or the quoted
version alone, "7"), where only the version counts: without it 428 (precondition-required);
anything else, including `*` and weak W/"7", is 400 (malformed-if-match), since `*` would
overwrite blindly, which is what If-Match exists to stop; a stale one 412 (precondition-failed)
with `current_version`. The compare-and-set is the service's UPDATE ... WHERE version = v. Rows
of the sections do not change the incident's version: editing one never conflicts with someone
editing the prose.
"""

from __future__ import annotations

from incidents.postmortem.api.views.common import (  # noqa: F401
    _PROBLEMS,
    ETAG,
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_PROBLEMS,
    IF_MATCH,
    IF_MATCH_RE,
    INCIDENT_IF_MATCH_RE,
    INCIDENT_REF,
    LIST_PROBLEMS,
    LOCATION,
    NO_VERSION,
    PROBLEM_REF,
    READ_PROBLEMS,
    REF,
    TIMELINE_EMBEDDED,
    WRITE_PROBLEMS,
    ChangeOnPost,
    TimelineCursorPagination,
    acting,
    etag,
    id_or_404,
    if_match_version,
    incident_detail,
    incident_or_404,
    problems,
)
from incidents.postmortem.api.views.incidents import (  # noqa: F401
    IncidentViewSet,
)
from incidents.postmortem.api.views.rows import (  # noqa: F401
    CauseViewSet,
    IncidentActionItemViewSet,
    LessonViewSet,
    SuccessCriterionViewSet,
    TimelineEventViewSet,
)
from incidents.postmortem.api.views.rows_base import (  # noqa: F401
    AUDIT_LINE,
    IncidentRowViewSet,
    MoveSerializer,
    OrderedRowViewSet,
)
from incidents.postmortem.api.views.rows_schema import _row_schema  # noqa: F401
