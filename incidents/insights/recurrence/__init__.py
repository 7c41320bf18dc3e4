"""Recurrence: the past incidents like this one, each with the action items it left open, on the
incident page and after it is declared or edited."""
