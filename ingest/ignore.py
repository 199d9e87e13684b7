"""Which files in a followed folder are not documents: gitignore-style rules (pathspec).

Each knowledge base keeps its own rules text; the defaults skip what no one wants indexed and
what is written half-finished: hidden files, Office lock and temp files, OS litter, and build
and version-control folders.  Rules match paths relative to the followed folder, with '/'
separators, exactly as git matches them against a repository.
"""

from __future__ import annotations

from pathlib import Path

import pathspec

DEFAULT_RULES = """\
# Hidden files and folders
.*
# Office lock and temporary files (a document being saved)
~$*
.~lock.*#
~*.tmp
*.tmp
*.temp
*.swp
*.part
*.crdownload
# Operating-system litter
.DS_Store
Thumbs.db
desktop.ini
# Build and version-control folders
.git/
.svn/
.hg/
node_modules/
__pycache__/
build/
dist/
target/
.venv/
venv/
"""


class IgnoreRules:
    """A compiled rules text; `ignored(rel_path, is_dir)` says whether a path is skipped."""

    def __init__(self, text: str = DEFAULT_RULES) -> None:
        self.text = text
        self._spec = pathspec.GitIgnoreSpec.from_lines(text.splitlines())

    def ignored(self, rel_path: str, is_dir: bool = False) -> bool:
        rel = rel_path.replace("\\", "/").strip("/")
        if not rel:
            return False
        return self._spec.match_file(rel + "/" if is_dir else rel)

    def ignored_under(self, folder: Path, path: Path) -> bool:
        """True when `path` (under `folder`) or any folder between them is ignored."""
        try:
            rel = path.relative_to(folder)
        except ValueError:
            return True
        parts = rel.parts
        for i in range(1, len(parts)):
            if self.ignored("/".join(parts[:i]), is_dir=True):
                return True
        return self.ignored("/".join(parts), is_dir=False)


def validate(text: str) -> str:
    """The text if every line is a valid pattern; ValueError naming the bad line otherwise."""
    for n, line in enumerate(text.splitlines(), 1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except Exception as exc:  # pathspec raises several types for a bad pattern
            raise ValueError(f"ignore rule on line {n} ({line!r}) is not valid: {exc}") from exc
    return text
