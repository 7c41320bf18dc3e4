"""The workflow's refusals, which the pages and the API turn into messages."""

from __future__ import annotations


class CommunicationStateError(Exception):
    """The communication is not in a state that allows this (e.g. editing a sent one)."""

    def __init__(self, message: str, *, status: str):
        self.status = status
        super().__init__(message)


class StaleCommunication(CommunicationStateError):
    """Someone else saved the draft since this editor opened it."""
