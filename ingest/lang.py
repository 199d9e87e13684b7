"""Cheap language signals shared by splitting, indexing and retrieval.

A full language detector is overkill here: the app only needs to know whether text is mostly
Chinese (CJK ideographs) or Latin-script, which a character-class count answers in microseconds.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def detect_lang(text: str) -> str:
    """'zh' when CJK ideographs dominate the letters, 'en' for Latin script, else 'other'."""
    cjk = cjk_count(text)
    latin = len(_LATIN.findall(text))
    if cjk == 0 and latin == 0:
        return "other"
    # A CJK character carries about a word's worth of meaning, a Latin letter a fifth of one.
    return "zh" if cjk * 5 >= latin else "en"
