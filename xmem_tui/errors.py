"""User-facing errors.

Every error a user can cause (a bad video, a wrong config value, a malformed job file, a missing or bad
checkpoint) is raised as a :class:`UserError` subclass whose message names the thing at fault and the fix.
The CLI prints such errors as one line and exits with :attr:`UserError.exit_code`; anything else is a bug
and gets a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An error caused by input, configuration or environment, with a message that says how to fix it."""

    exit_code = 2


class ConfigError(UserError):
    """config.toml or a command-line override is invalid."""


class MediaError(UserError):
    """A video or image folder cannot be read (missing, unsupported, truncated, empty)."""


class WorkspaceError(UserError):
    """The workspace is locked, inconsistent with its source, or a mask file is invalid."""


class CheckpointError(UserError):
    """A model checkpoint is missing, truncated, unsafe or for another model."""


class JobError(UserError):
    """A job file is malformed or refers to something outside the project."""
