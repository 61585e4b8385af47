"""Constants and helpers shared by the tests (import as `from support import ...`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STORELIFT_SHARED_DATA", REPO.parent / "shared" / "data"))
KEY = b"test-key-0123456789abcdef0123456789abcdef"


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or a skip that says why."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real dataset {path} is absent (../shared/data holds the public datasets)")
    return path
