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


class ModelError(LocalKBError):
    """A model file is missing, unreadable, or failed to load."""


class CancelledError(LocalKBError):
    """The user cancelled the operation."""
