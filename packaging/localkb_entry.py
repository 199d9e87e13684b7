"""Frozen-app entry point.

No arguments (a double-click) opens the window; `--gui [FILE...]` (what the installed .desktop
entry runs) opens the window and adds the files the desktop handed over; any other arguments run
the CLI, e.g. `--self-test`, `--screenshot OUT.png`, `ingest`, `ask`.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the engine and ingestion run in spawned processes
    if sys.argv[1:2] == ["--gui"]:
        from app.__main__ import gui_main

        sys.exit(gui_main(sys.argv[2:]))
    from app.__main__ import main

    sys.exit(main(sys.argv[1:]))
