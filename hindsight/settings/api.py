"""The REST API's settings: Django REST framework (authentication, parsers, filters, throttles)
and the OpenAPI document drf-spectacular builds."""

from __future__ import annotations

from hindsight.settings.base import env

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browser, with CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.RolePermission"],
    # JSON only: form parsers accept duplicated fields and silently keep one of them.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.ORJSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "DEFAULT_FILTER_BACKENDS": [
        "api.filters.QueryFilterBackend",
        # An unknown ordering is a 400 naming the allowed ones, never silently the default.
        "api.filters.StableOrderingFilter",
    ],
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ScopedAutoSchema",
    # Counted in Redis (or the database without it), shared by every worker: api.ratelimit.
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.ClientRateThrottle",
        "api.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        # Per address: requests without credentials, and any refused before the limits ran.
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "token": env.str("API_THROTTLE_TOKEN", default="600/min"),  # per API token
        "user": env.str("API_THROTTLE_USER", default="600/min"),  # per signed-in person
        "tokens": env.str("API_THROTTLE_TOKENS", default="30/min"),  # making and revoking tokens
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hindsight API",
    "DESCRIPTION": "Incidents, post-mortems, deployments and health, for tooling.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "GET_LIB_DOC_EXCLUDES": "api.schema.doc_excludes",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One stable name per choice set; without these, clashing field names ("kind", "status")
    # get hashed names like Status968Enum that change whenever a choice does.
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "PostmortemStateEnum": "incidents.models.Incident.PostmortemState",
        "HorizonEnum": "incidents.models.Horizon",
        "TimelineEventKindEnum": "incidents.models.TimelineEvent.Kind",
        "CauseKindEnum": "incidents.models.Cause.Kind",
        "LessonKindEnum": "incidents.models.Lesson.Kind",
        "ActionItemKindEnum": "incidents.models.ActionItem.Kind",
        "ActionItemStatusEnum": "incidents.models.ActionItem.Status",
        "CommunicationStatusEnum": "incidents.models.Communication.Status",
        "EnvironmentKindEnum": "deployments.models.Environment.Kind",
        "DeploymentStatusEnum": "deployments.models.Deployment.Status",
        "DeploymentHealthEnum": "deployments.models.Deployment.Health",
        "HealthStatusEnum": "deployments.models.HealthStatus",
        "GateRuleKindEnum": "deployments.models.GateRule.Kind",
        "GateRuleActionEnum": "deployments.models.GateRule.Action",
        "GateVerdictEnum": "deployments.models.GateRun.Verdict",
        "ChangeKindEnum": "deployments.models.Change.Kind",
        "ComponentStatusEnum": "incidents.models.ComponentStatus",
        "WebhookEventKindEnum": "incidents.webhooks.payloads.ENVELOPE_KINDS",
        "WebhookFollowedKindEnum": "incidents.webhooks.payloads.FOLLOWABLE_KINDS",
        "SimilarReasonEnum": "incidents.insights.recurrence.api.serializers.REASON_NAMES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_problem_responses",
    ],
}
