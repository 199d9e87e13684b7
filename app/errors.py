"""Domain errors whose messages a user can act on.

Errors are raised with plain words and turned into output only at the edges (CLI, GUI); in
tests they propagate.  Ingestion's per-file errors live in `ingest.errors` so the ingest
package does not depend on the app.
"""

from __future__ import annotations


class LocalKBError(Exception):
    """Base class: `str(err)` is a one-line message fit to show a user."""


class SettingsError(LocalKBError):
    """The settings file or a settings value is invalid."""


class KnowledgeBaseError(LocalKBError):
    """A knowledge base is missing, misnamed, or cannot be opened."""


class KnowledgeBaseDamaged(KnowledgeBaseError):
    """A knowledge base's files are damaged (truncated catalogue, missing vectors, broken keyword
    index); `localkb repair --kb NAME`, or Rebuild in the window, rebuilds it.  `kb` names it, so
    the window can offer the rebuild for the right one."""

    def __init__(self, message: str, kb: str = "") -> None:
        super().__init__(message)
        self.kb = kb

    def __reduce__(self):  # keeps `kb` across the engine process's pipe
        return (type(self), (str(self), self.kb))


class ModelError(LocalKBError):
    """A model file is missing, unreadable, or failed to load."""


class CancelledError(LocalKBError):
    """The user cancelled the operation."""
