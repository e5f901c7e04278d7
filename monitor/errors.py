"""The exception tree callers can rely on.

Sorting errors by what to do about them (retry soon, retry much later, fix the
config, fix the input) is what lets one bad feed or page never fail a run:
the pipeline catches ``FetchError`` subclasses, records the reason and moves on.

    MonitorError
    ├── ConfigError            bad configuration file or environment value
    ├── BadInputError          an argument or document we cannot work with
    ├── DatabaseUnavailableError  the database stayed unreachable past the retry window
    └── FetchError             anything that went wrong getting bytes
        ├── TransientFetchError  worth retrying soon (timeouts, 5xx, 429, resets)
        └── PermanentFetchError  retrying will not help (404, 410, not HTML, too big,
                                 robots.txt disallow)
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error newsmon raises on purpose."""


class ConfigError(MonitorError):
    """A configuration file or variable is invalid; the message names file, field and reason."""


class BadInputError(MonitorError):
    """Input we cannot process (an unparsable URL, an empty document, ...)."""


class DatabaseUnavailableError(MonitorError):
    """The database could not be reached (or stayed locked) for the whole retry window.

    Raised only after waiting and retrying; every transaction it interrupted was
    rolled back, so nothing is half-written and the next run resumes the work.
    """


class FetchError(MonitorError):
    """Getting bytes from the network failed.

    ``reason`` is a short machine-friendly tag (``timeout``, ``http_404``,
    ``not_html``, ``too_large``, ``robots``...) stored with the item or feed so
    operators can group failures; ``retry_after`` carries a server's hint in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = "error",
        url: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.url = url
        self.status_code = status_code
        self.retry_after = retry_after

    def describe(self) -> str:
        """The stable tag first (for grouping), then what happened, on one line."""
        detail = " ".join(str(self).split())
        if not detail or detail == self.reason:
            return self.reason
        return f"{self.reason}: {detail}"


class TransientFetchError(FetchError):
    """Worth retrying soon: timeouts, connection resets, 5xx, 429."""


class PermanentFetchError(FetchError):
    """Retrying soon will not help: 4xx, unsupported content, oversized body, robots.txt."""
