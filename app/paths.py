"""Where LocalKB keeps its data, settings and logs.

`LOCALKB_HOME` overrides every location (tests always set it); otherwise the platform's user
data and config directories are used.  Nothing here creates directories at import time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "LocalKB"
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


def frozen_root() -> Path | None:
    """The installed app's own folder of libraries and data when running from the PyInstaller
    bundle, else None (a pip install)."""
    if not getattr(sys, "frozen", False):
        return None
    return Path(getattr(sys, "_MEIPASS", Path(sys.executable).resolve().parent))


def bundled_models_dir() -> Path | None:
    """Where the installed app carries its built-in models, ready to load; None outside the bundle."""
    root = frozen_root()
    return root / "models" if root is not None else None


def make_private() -> None:
    """Create everything from now on readable by this user only (0700 folders, 0600 files).

    A knowledge base holds copies of company documents (chunk texts, a keyword index, chats), so
    it must not be world-readable as the default umask would make it.  Setting the umask, rather
    than chmod-ing each file, also covers what Chroma, SQLite and the worker processes create
    (spawned children inherit it).  The default data and config roots are ours, so they are
    tightened too; a LOCALKB_HOME chosen by the user is left as the user made it, but everything
    LocalKB creates inside it is private.
    """
    if os.name != "posix":
        return  # Windows has no POSIX modes; its per-user profile folders are private already
    os.umask(0o077)
    if home_override() is None:
        for folder in {data_dir(), config_dir()}:
            try:
                if folder.is_dir() and folder.stat().st_uid == os.getuid():
                    folder.chmod(0o700)
            except OSError:
                pass


def home_override() -> Path | None:
    value = os.environ.get("LOCALKB_HOME")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    home = home_override()
    return home if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    home = home_override()
    return home if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def settings_file() -> Path:
    return config_dir() / "settings.toml"


def kbs_dir() -> Path:
    return data_dir() / "kbs"


def kb_dir(name: str) -> Path:
    return kbs_dir() / name


def chats_db() -> Path:
    return data_dir() / "chats.sqlite3"


def log_dir() -> Path:
    return data_dir() / "logs"


def models_dir() -> Path:
    return data_dir() / "models"
