"""The failures a user causes or can fix, in one place, with how each entry point shows them: one line
on the command line, a JSON error with a fitting HTTP status from the API, an error box in the web app.
Anything else is a bug and keeps its traceback (a 500 from the API)."""

from __future__ import annotations


class Busy(RuntimeError):
    """Too many requests are already waiting for the model."""


class UploadRejected(ValueError):
    """An upload of the wrong type or size."""


def _statuses() -> tuple[tuple[type[Exception], int], ...]:
    # imported here: the stores' modules load chromadb, and `paperbrief --help` must stay quick
    from index.fetch import FetchError
    from index.pipeline import EmbedderMismatch
    from service.engines.model_assets import ModelAssetError

    return (
        (Busy, 503),
        (UploadRejected, 400),
        (FetchError, 502),  # a source site failed or is unreachable
        (EmbedderMismatch, 409),  # the store was built with another embedder
        (ModelAssetError, 503),  # the model isn't installed: the message says which package
        (ValueError, 400),  # bad input: SourceError, BadInputError, bad dates, unknown ids, settings
    )


def expected_errors() -> tuple[type[Exception], ...]:
    return tuple(kind for kind, _ in _statuses())


def http_statuses() -> tuple[tuple[type[Exception], int], ...]:
    """(error type, HTTP status), most specific first."""
    return _statuses()
