"""Entry point: `localkb` with no command opens the desktop app; with a command, runs the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from app.cli import run

    return run(argv)


def gui_main(argv: list[str] | None = None) -> int:
    """Double-click entry: always the window; arguments that are existing files or folders (the
    desktop's "Open with", `%F` in the .desktop entry) are added to the current knowledge base."""
    import os

    from app import paths
    from app.gui import launch

    argv = list(sys.argv[1:] if argv is None else argv)
    paths.make_private()
    return launch([], open_paths=[a for a in argv if os.path.exists(a)])


if __name__ == "__main__":
    sys.exit(main())
