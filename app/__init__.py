"""LocalKB: an offline desktop app that answers questions about your own files, with citations."""

__version__ = "0.1.0"
