"""Save what the window shows for a damaged KB and a full disk: `python -m tests.app.gui.fault_screenshots OUT_DIR`.

Real services (in this process, as LOCALKB_INPROCESS=1 runs them) and real faults:
- a knowledge base whose catalogue is cut in half, as the window finds it on opening, then after
  the one-click Rebuild;
- a knowledge base folder on a 600 KB tmpfs (when this runs as root and may mount one), so the
  ingest meets a genuinely full disk, then the same ingest after the disk is made larger.  Without
  root, the vector store's writes are made to fail with ENOSPC instead, and the script says so.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LOCALKB_HOME", tempfile.mkdtemp(prefix="localkb-fault-shots-"))

from tests.app.gui.make_screenshots import settle, until, wait_for  # noqa: E402


def _services(settings):
    from app.services.chat import ChatService
    from app.services.library import LibraryService

    library = LibraryService(settings)
    return library, ChatService(settings, library)


def _mount_small_disk(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(folder)], capture_output=True)
    return done.returncode == 0


def main(out: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from app import paths
    from app.gui import build_window, save_screenshot
    from app.services.library import LibraryService
    from app.settings import Settings

    app = QApplication.instance() or QApplication(["localkb"])
    sample = sorted(str(p) for p in (paths.ASSETS_DIR / "sample").iterdir())

    # A damaged knowledge base: built for real, then its catalogue cut in half.
    builder = LibraryService(Settings())
    report = builder.ingest(sample, kb="handbook")
    builder.close()
    print(f"built 'handbook': {report.ok} files, {report.chunks_added} chunks", file=sys.stderr)
    catalogue = paths.kb_dir("handbook") / "catalog.sqlite3"
    os.truncate(catalogue, catalogue.stat().st_size // 2)

    settings = Settings()
    window = build_window(settings, _services)
    window.resize(1360, 820)
    window.show()
    until(lambda: window.messages.action.isVisible(), 60000)
    settle()
    save_screenshot(window, out / "20_damaged_kb.png")
    window.messages.action.click()
    wait_for(window.bridge.repair_finished, 600000)
    until(lambda: not window.bridge.busy, 60000)
    window.library.select_kb("handbook")
    settle(800)
    save_screenshot(window, out / "21_damaged_kb_rebuilt.png")

    # A full disk: the knowledge base's folder is a 600 KB tmpfs.
    small = paths.kb_dir("work")
    mounted = _mount_small_disk(small)
    restore = None
    if not mounted:
        from ingest.store import VectorStore

        real_add = VectorStore.add

        def full(self, *args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        VectorStore.add = full
        restore = lambda: setattr(VectorStore, "add", real_add)  # noqa: E731
        print("not root or no tmpfs: the vector store's writes fail with ENOSPC instead", file=sys.stderr)
    try:
        window.bridge.create_kb("work")
        until(lambda: "work" in [k.name for k in window.library.kb_infos()], 30000)
        window.library.select_kb("work")
        settle()
        window.messages.hide()
        window.add_paths(sample)
        wait_for(window.bridge.ingest_finished, 600000)
        until(lambda: not window.bridge.busy, 60000)
        settle(800)
        print(f"shown: {window.messages.label.text()}", file=sys.stderr)
        save_screenshot(window, out / "22_disk_full.png")
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
        elif restore is not None:
            restore()
        window.messages.hide()
        window.add_paths(sample)
        wait_for(window.bridge.ingest_finished, 600000)
        until(lambda: not window.bridge.busy, 60000)
        settle(800)
        save_screenshot(window, out / "23_disk_full_space_back.png")
    finally:
        window.close()
        if mounted:
            subprocess.run(["umount", "-l", str(small)])


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots"))
