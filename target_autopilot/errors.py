"""Errors the target reports to the user: each carries a message that says what, where and what to do."""

from __future__ import annotations


class ExportError(Exception):
    """A problem the user can act on. Reported as one clear log line, never as a traceback."""

    exit_code = 1


class InputError(ExportError):
    """The Singer input cannot be read (malformed line, record before schema, no email column)."""


class ProfileLimitExceeded(ExportError):
    """More distinct profiles than `max_profiles` with `on_limit_exceeded: fail`."""


class RemovalGuardTripped(ExportError):
    """Mirror mode would remove more of a list's members than `max_removal_fraction` allows."""


class AuthError(ExportError):
    """Autopilot refused the API key (401). The key itself never appears in the message."""


class CertificateError(ExportError):
    """Autopilot's TLS certificate could not be verified: retrying cannot help."""


class ApiUnavailable(ExportError):
    """Autopilot kept failing a request after every bounded retry."""


class ApiRefused(ExportError):
    """Autopilot answered a request the export cannot do without (a list, the account) with a 4xx."""


class TooManyRejected(ExportError):
    """More of the run's records were rejected than `max_rejected_fraction` allows."""


class Terminated(ExportError):
    """The run was stopped by a signal before the export was applied: exit 128 + the signal's number."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class TooManyDropped(ExportError):
    """More of one field's values would be dropped than `max_dropped_fraction` allows."""


class TooManyNewSegments(ExportError):
    """The run would create more lists or tags than `max_new_segments` allows."""


class DryRunVerdict(ExportError):
    """A dry run found what would make the real run fail."""
