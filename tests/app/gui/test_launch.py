"""`localkb --screenshot OUT.png`: the real launch path opens the window offscreen, settles, saves a PNG."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage


@pytest.mark.timeout(180)
def test_screenshot_command_saves_the_window(tmp_path, localkb_home):
    out = tmp_path / "window.png"
    env = dict(os.environ, LOCALKB_HOME=str(localkb_home), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-m", "app", "--screenshot", str(out)], env=env,
                            capture_output=True, text=True, timeout=170)
    assert result.returncode == 0, result.stderr[-2000:]
    image = QImage(str(out))
    assert image.width() >= 1000 and image.height() >= 600
    log = (localkb_home / "logs" / "localkb.log").read_text()
    shown = float(re.search(r"window shown ([\d.]+)s after launch", log).group(1))
    assert shown < 2.0, f"window took {shown:.2f}s to appear"
