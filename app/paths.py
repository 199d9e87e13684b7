"""Where LocalKB keeps its data, settings and logs.

`LOCALKB_HOME` overrides every location (tests always set it); otherwise the platform's user
data and config directories are used.  Nothing here creates directories at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "LocalKB"
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


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
