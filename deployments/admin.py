from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from deployments.forms import GateRuleForm, HealthCheckForm
from deployments.models import (
    Artifact,
    Change,
    CheckResult,
    CheckResultHourly,
    Deployment,
    Environment,
    GateRule,
    GateRun,
    HealthChange,
    HealthCheck,
    HealthSnapshot,
    MaintenanceWindow,
    Service,
)
from deployments.services import maintenance_window_end


class EnvironmentInline(admin.TabularInline):
    model = Environment
    extra = 0


class HealthCheckInline(admin.TabularInline):
    model = HealthCheck
    extra = 0
    fields = [
        "name",
        "environment",
        "url",
        "method",
        "expected_status",
        "interval_seconds",
        "enabled",
    ]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "public_url"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [EnvironmentInline, HealthCheckInline]


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "branch", "url"]
    list_filter = ["kind", "service"]
    search_fields = ["name", "service__name"]
    list_select_related = ["service"]


class ArtifactInline(admin.TabularInline):
    model = Artifact
    extra = 0
    fields = ["path", "size", "sha256"]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "environment",
        "short_commit",
        "status",
        "deployed_by",
        "started_at",
    ]
    list_filter = ["status", "environment__kind", "environment__service"]
    search_fields = ["external_id", "commit_sha", "branch", "deployed_by"]
    list_select_related = ["environment__service"]
    date_hierarchy = "started_at"
    raw_id_fields = ["rollback_of"]
    readonly_fields = ["manifest_digest", "created_at"]
    inlines = [ArtifactInline]

    @admin.display(description="commit", ordering="commit_sha")
    def short_commit(self, obj: Deployment) -> str:
        return obj.commit_sha[:7]


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ["path", "size", "deployment"]
    search_fields = ["path", "sha256", "deployment__external_id"]
    list_select_related = ["deployment__environment__service"]
    raw_id_fields = ["deployment"]


@admin.register(HealthCheck)
class HealthCheckAdmin(admin.ModelAdmin):
    form = HealthCheckForm
    list_display = [
        "name",
        "service",
        "environment",
        "method",
        "url",
        "interval_seconds",
        "enabled",
    ]
    list_filter = ["enabled", "service", "method"]
    search_fields = ["name", "url", "service__name"]
    list_select_related = ["service", "environment__service"]


_CHECK_RESULT_FIELDS = ("health_check", "ok", "maintenance", "status_code", "latency_ms", "error")


class CheckResultInline(admin.TabularInline):
    model = CheckResult
    extra = 0
    fields = _CHECK_RESULT_FIELDS
    readonly_fields = _CHECK_RESULT_FIELDS
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: HealthSnapshot | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CheckResult]:
        return super().get_queryset(request).select_related("health_check")


@admin.register(HealthSnapshot)
class HealthSnapshotAdmin(admin.ModelAdmin):
    list_display = ["service", "taken_at", "status"]
    list_filter = ["status", "service"]
    date_hierarchy = "taken_at"
    list_select_related = ["service"]
    inlines = [CheckResultInline]
    # Snapshots are measurements: recorded by the prober, never typed in.
    readonly_fields = ["service", "taken_at", "status"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(CheckResult)
class CheckResultAdmin(admin.ModelAdmin):
    list_display = [
        "health_check",
        "taken_at",
        "ok",
        "maintenance",
        "status_code",
        "latency_ms",
        "error",
    ]
    list_filter = ["ok", "maintenance", "service"]
    date_hierarchy = "taken_at"
    list_select_related = ["health_check__service"]
    readonly_fields = [f.name for f in CheckResult._meta.fields]
    # Counting millions of results for the paginator is slower than the page itself.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(HealthChange)
class HealthChangeAdmin(admin.ModelAdmin):
    list_display = ["service", "changed_at", "from_status", "to_status"]
    list_filter = ["to_status", "service"]
    date_hierarchy = "changed_at"
    list_select_related = ["service"]
    # Derived from snapshots as they are stored; editing one would rewrite history.
    readonly_fields = ["service", "snapshot", "changed_at", "from_status", "to_status"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(CheckResultHourly)
class CheckResultHourlyAdmin(admin.ModelAdmin):
    list_display = [
        "health_check",
        "hour",
        "samples",
        "ok_count",
        "maintenance_count",
        "latency_p50_ms",
        "latency_p95_ms",
    ]
    list_filter = ["service"]
    date_hierarchy = "hour"
    list_select_related = ["health_check__service"]
    readonly_fields = [f.name for f in CheckResultHourly._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class GateRuleAdminForm(GateRuleForm):
    """The gate page's form, plus the environment the admin picks."""

    class Meta(GateRuleForm.Meta):
        fields = ["environment", *GateRuleForm.Meta.fields]


@admin.register(GateRule)
class GateRuleAdmin(admin.ModelAdmin):
    form = GateRuleAdminForm
    list_display = ["__str__", "kind", "path", "action", "enabled", "order"]
    list_filter = ["kind", "action", "enabled", "environment__service"]
    search_fields = ["path", "environment__name", "environment__service__name"]
    list_select_related = ["environment__service"]

    def save_model(
        self, request: HttpRequest, obj: GateRule, form: forms.ModelForm[GateRule], change: bool
    ) -> None:
        # The service is the environment's; asking for both would only let them disagree.
        obj.service_id = obj.environment.service_id
        super().save_model(request, obj, form, change)


@admin.register(GateRun)
class GateRunAdmin(admin.ModelAdmin):
    list_display = ["environment", "short_commit", "verdict", "artifact_count", "created_at"]
    list_filter = ["verdict", "environment__service"]
    search_fields = ["commit_sha", "manifest_digest"]
    list_select_related = ["environment__service"]
    date_hierarchy = "created_at"
    # Answers are a record of what CI asked and was told: never typed in or edited.
    readonly_fields = [f.name for f in GateRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="commit", ordering="commit_sha")
    def short_commit(self, obj: GateRun) -> str:
        return obj.commit_sha[:7]


@admin.register(Change)
class ChangeAdmin(admin.ModelAdmin):
    list_display = ["summary", "service", "environment", "kind", "at", "by"]
    list_filter = ["kind", "service"]
    search_fields = ["summary", "external_id", "by", "link"]
    list_select_related = ["service", "environment__service"]
    date_hierarchy = "at"
    # Recorded through the API by CI or a person: a record of what happened, not typed here.
    readonly_fields = [f.name for f in Change._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ["service", "environment", "reason", "starts_at", "ends_at", "ended_at"]
    list_filter = ["service"]
    search_fields = ["reason", "external_id", "opened_by"]
    list_select_related = ["service", "environment__service"]
    date_hierarchy = "starts_at"
    # Opened by CI around a deployment; the one thing to do here is to end one early.
    readonly_fields = [f.name for f in MaintenanceWindow._meta.fields]
    actions = ["end_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="End the selected windows now", permissions=["change"])
    def end_now(self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow]) -> None:
        for window in queryset:
            maintenance_window_end(window=window)
        messages.success(request, "Ended. Windows that had ended already are as they were.")
