"""Frozen-app entry point: with no arguments the window opens; arguments run the CLI (e.g. --screenshot)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # ingestion parses files in worker processes
    from app.__main__ import main

    sys.exit(main(sys.argv[1:]))
