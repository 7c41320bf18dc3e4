"""The REST face's shapes: what a request may carry (validated strictly) and what a response holds.

Write serializers validate and hand back cleaned values; the views pass them to
incidents.postmortem.services. Read serializers are api.reads.RowSerializer: they shape `.values()` rows (or
loaded instances) from their declared fields, several times faster than DRF's field-by-field path. Split by topic:
fields (strict JSON types and bounds), read (response shapes), write (request shapes).
"""

from __future__ import annotations

from api.serializers import (  # noqa: F401
    StrictBooleanField,
    StrictChoiceField,
    StrictIntegerField,
)
from incidents.postmortem.api.serializers.detail import (  # noqa: F401
    IncidentDetailSerializer,
)
from incidents.postmortem.api.serializers.fields import (  # noqa: F401
    MARKDOWN_MAX_LENGTH,
    MAX_ID,
    MAX_YEAR,
    MIN_YEAR,
    YEAR_PATTERN,
    BoundedDateField,
    BoundedDateTimeField,
    StrictSerializer,
    StrictSerializerSchema,
    id_field,
    markdown_field,
)
from incidents.postmortem.api.serializers.read import (  # noqa: F401
    IncidentListSerializer,
    ServiceRefSerializer,
)
from incidents.postmortem.api.serializers.rows import (  # noqa: F401
    ActionItemListSerializer,
    ActionItemSerializer,
    ActionItemSummarySerializer,
    CauseSerializer,
    FinalNoteSerializer,
    LessonSerializer,
    PathPrioritySerializer,
    SolutionOptionSerializer,
    StatusItemSerializer,
    SuccessCriterionSerializer,
    TimelineEventSerializer,
)
from incidents.postmortem.api.serializers.write import (  # noqa: F401
    LATER_TIMES,
    ActionItemWriteSerializer,
    CauseWriteSerializer,
    IncidentCreateSerializer,
    IncidentRowSerializer,
    IncidentUpdateSerializer,
    LessonWriteSerializer,
    OwnerField,
    PostmortemStateSerializer,
    ResolveSerializer,
    ServiceSlugField,
    SuccessCriterionWriteSerializer,
    TimelineEventWriteSerializer,
    _check_times,
)
