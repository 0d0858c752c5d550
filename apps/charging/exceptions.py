"""Errors of the charging domain."""
from evnet.exceptions import Conflict, DomainError


class AttentionNotNeeded(Conflict):
    """This session is not waiting for a clerk."""

    code = "attention_not_needed"


class ResolutionNoteRequired(DomainError):
    """Say what was checked or decided: a resolution needs a note."""

    code = "resolution_note_required"
