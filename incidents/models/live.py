from __future__ import annotations

from django.db import models


class LiveMark(models.Model):
    """When a part of an incident page last changed, and who changed it: what an open page asks
    about every few seconds (incidents.live), so it fetches only the parts that changed.

    The row whose `part` is PAGE ("") holds the page's change counter: every write to the
    incident or its rows raises it by one. Each other row is one part of the page (its element
    id, e.g. "section-actions") and holds the counter's value at that part's last change. Kept
    apart from the incident row, so a change counter never touches the version two editors
    compare-and-set against, nor its history.
    """

    PAGE = ""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    # The incident's number (INC-n) beside it, so the poll reads its counter from this table
    # alone. A statement over one table waits for one lock at most: the poll never joins a
    # lock queue in an order another statement could cross (a deadlock).
    number = models.PositiveIntegerField()
    part = models.CharField(max_length=60, blank=True)
    serial = models.PositiveBigIntegerField(default=0)
    # The username as it was: what the notice names, read without a join, for the same reason.
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "part"], name="livemark_incident_part_unique"
            ),
            # Also the index of the poll's one query: the page's counter by incident number.
            models.UniqueConstraint(fields=["number", "part"], name="livemark_number_part_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}/{self.part or 'page'}: {self.serial}"
