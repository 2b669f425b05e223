"""What can go wrong talking to a system, as errors whose text is safe to store and show."""

from __future__ import annotations

from app.errors import SeamdeskError


class SourceError(SeamdeskError):
    title = "System API problem"


class AuthError(SourceError):
    title = "Credentials rejected"


class PayloadError(SourceError):
    """The vendor answered, but not in the shape its documentation promises."""

    title = "Unexpected answer from the system"


class UnavailableError(SourceError):
    """Timeouts, connection failures, 5xx or throttling that outlasted every retry."""

    title = "System unavailable"
