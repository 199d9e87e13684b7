"""Frozen-app entry point.

No arguments (a double-click) opens the window; `--gui [FILE...]` (what the installed .desktop
entry runs) opens the window and adds the files the desktop handed over; any other arguments run
the CLI, e.g. `--self-test`, `--screenshot OUT.png`, `ingest`, `ask`.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the engine and ingestion run in spawned processes
    if sys.argv[1:2] == ["--chroma-cli"]:
        # `localkb serve-chroma` starts Chroma's server through this (app/chroma_gate.py).
        import chromadb_rust_bindings

        sys.exit(chromadb_rust_bindings.cli(["chroma", *sys.argv[2:]]))
    if sys.argv[1:2] == ["--gui"]:
        from app.__main__ import gui_main

        sys.exit(gui_main(sys.argv[2:]))
    from app.__main__ import main

    sys.exit(main(sys.argv[1:]))
