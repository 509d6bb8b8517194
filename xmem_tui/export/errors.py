"""The errors of an export: a bad request, and an output that does not match its source."""

from __future__ import annotations

from xmem_tui.errors import UserError


class ExportError(UserError):
    """An export request is invalid (unknown kind, codec not allowed for the kind, bad option value)."""


class SelfCheckFailed(UserError):
    """The written export does not match its source (timestamps, frame count, duration, audio offset)."""

    exit_code = 1
