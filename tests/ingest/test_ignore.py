"""Ignore rules for followed folders: the defaults skip lock, temp, hidden and build files."""

from pathlib import Path

import pytest

from ingest.ignore import IgnoreRules, validate


@pytest.mark.parametrize("path", ["~$report.docx", ".~lock.report.odt#", "draft.tmp", "sub/.DS_Store", "Thumbs.db",
                                  ".hidden.txt", "x/.git/config", "node_modules/a/readme.md", "build/out.html"])
def test_defaults_ignore_litter(path):
    assert IgnoreRules().ignored_under(Path("/f"), Path("/f") / path)


@pytest.mark.parametrize("path", ["report.docx", "sub/notes.md", "builder/plan.txt", "年报/总结.pdf"])
def test_defaults_keep_documents(path):
    assert not IgnoreRules().ignored_under(Path("/f"), Path("/f") / path)


def test_custom_rules_with_negation():
    rules = IgnoreRules("*.csv\n!keep.csv\nprivate/\n")
    root = Path("/f")
    assert rules.ignored_under(root, root / "a.csv") and not rules.ignored_under(root, root / "keep.csv")
    assert rules.ignored_under(root, root / "private" / "x.txt") and not rules.ignored_under(root, root / "x.txt")
    assert rules.ignored_under(root, Path("/elsewhere/x.txt"))  # outside the folder is never followed


def test_validate_names_the_bad_line():
    assert validate("*.tmp\n") == "*.tmp\n"
    with pytest.raises(ValueError, match="line 2"):
        validate("*.tmp\n!\n")
