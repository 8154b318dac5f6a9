"""Errors that end a command with one sentence instead of a traceback."""

from __future__ import annotations


class PipelineError(Exception):
    """A problem the user can fix; the message names it and says how.

    The CLI prints the message alone (no traceback) and exits non-zero.
    """


class ConfigError(PipelineError):
    """The configuration file is missing, unreadable or invalid."""


class InputError(PipelineError):
    """A landing folder, billing file or other input is missing or unusable."""


class CheckFailedError(PipelineError):
    """A blocking data-quality check failed, so downstream assets did not run."""
