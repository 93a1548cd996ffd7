"""Lexicon data files under nlp/data, read once and kept in memory."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"


@cache
def words(name: str) -> frozenset[str]:
    """A one-word-per-line file; blank lines and '#' comments are skipped."""
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@cache
def table(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
