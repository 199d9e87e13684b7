"""Entry point: `localkb` with no command opens the desktop app; with a command, runs the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from app.cli import run

    return run(argv)


def gui_main() -> int:
    """Double-click entry: always the window, whatever the arguments."""
    from app import paths
    from app.gui import launch

    paths.make_private()
    return launch([])


if __name__ == "__main__":
    sys.exit(main())
