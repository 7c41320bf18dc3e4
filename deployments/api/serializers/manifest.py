"""The artifact manifest of a deployment: paths, sizes and digests, checked one by one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from api.problems import Problem
from api.serializers import (
    StrictCharField,
    StrictIntegerField,
)
from deployments.api.serializers.fields import (
    MANIFEST_MAX_FILES,
    PG_BIGINT_MAX,
    SHA256_RE,
    UNKNOWN_FIELD,
    StrictRegexField,
    StrictSerializer,
)

# --- The manifest ---------------------------------------------------------------------------------


class ManifestEntrySerializer(StrictSerializer):
    """One shipped file. Only for the schema: ManifestField checks entries by hand."""

    path = StrictCharField(
        max_length=1024,
        trim_whitespace=False,
        help_text="Relative to the build folder, with / between folders, e.g. `_worker.js`. "
        "No absolute paths, no `.` or `..` segments.",
    )
    size = StrictIntegerField(min_value=0, max_value=PG_BIGINT_MAX, help_text="Bytes.")
    sha256 = StrictRegexField(
        r"^[0-9a-f]{64}$", help_text="SHA-256 of the file's bytes, 64 lowercase hex digits."
    )


def _path_problem(path: Any) -> str | None:
    if not isinstance(path, str):
        return "Must be a string."
    if not path:
        return "This field may not be blank."
    if len(path) > 1024:
        return "Ensure this field has no more than 1024 characters."
    if "\x00" in path:
        return "Must not contain NUL bytes."
    if not path.isascii():
        try:
            path.encode()
        except UnicodeEncodeError:
            return "Surrogate characters are not allowed."
    if path[0] in "/\\" or (len(path) > 1 and path[1] == ":" and path[0].isalpha()):
        return "Use a path relative to the build folder, not an absolute one."
    segments = path.replace("\\", "/").split("/")
    if ".." in segments:
        return "A path may not climb out of the build folder with `..`."
    if "" in segments or "." in segments:
        return "Use a normalised path: no empty or `.` segments, no trailing slash."
    return None


def _entry_errors(entry: Any) -> dict[str, list[str]]:
    if not isinstance(entry, Mapping):
        return {"non_field_errors": ["Expected an object with path, size and sha256."]}
    errors: dict[str, list[str]] = {}
    if "path" not in entry:
        errors["path"] = ["This field is required."]
    elif problem := _path_problem(entry["path"]):
        errors["path"] = [problem]
    if "size" not in entry:
        errors["size"] = ["This field is required."]
    else:
        size = entry["size"]
        if isinstance(size, bool) or not isinstance(size, int):
            errors["size"] = ["A valid integer is required."]
        elif not 0 <= size <= PG_BIGINT_MAX:
            errors["size"] = [f"Must be between 0 and {PG_BIGINT_MAX}."]
    if "sha256" not in entry:
        errors["sha256"] = ["This field is required."]
    elif not isinstance(entry["sha256"], str) or not SHA256_RE.fullmatch(entry["sha256"]):
        errors["sha256"] = ["Enter a SHA-256 digest as 64 lowercase hex digits."]
    for key in sorted(entry.keys() - {"path", "size", "sha256"}):
        errors[str(key)] = [UNKNOWN_FIELD]
    return errors


class ManifestField(serializers.ListField):
    """The build's files. Checked by hand: a DRF serializer per entry takes about half a second
    for 10,000 files, this loop under a tenth. Errors have ListField's shape, keyed by index.
    """

    def __init__(self, **kwargs: Any):
        # No max_length (maxItems): the limit answers 413, which a schema validator reading
        # maxItems would expect to be a 400. The description and the 413 response state it.
        kwargs.setdefault("child", ManifestEntrySerializer())
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if isinstance(data, (str, Mapping)) or not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if len(data) > MANIFEST_MAX_FILES:
            raise Problem(
                f"A manifest lists at most {MANIFEST_MAX_FILES} files; this one lists {len(data)}.",
                status_code=413,
                problem_type="manifest-too-large",
                max_files=MANIFEST_MAX_FILES,
                files=len(data),
            )
        errors: dict[int, dict[str, list[str]]] = {}
        first_at: dict[str, int] = {}
        for index, entry in enumerate(data):
            entry_errors = _entry_errors(entry)
            if "path" not in entry_errors and isinstance(entry, Mapping):
                seen = first_at.setdefault(entry["path"], index)
                if seen != index:
                    entry_errors["path"] = [f"Listed twice: also at index {seen}."]
            if entry_errors:
                errors[index] = entry_errors
        if errors:
            raise ValidationError(errors)  # type: ignore[arg-type]  # DRF keys list errors by index; the stubs allow str keys only
        return [{"path": e["path"], "size": e["size"], "sha256": e["sha256"]} for e in data]
