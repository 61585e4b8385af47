"""Keyed pseudonymization of PII at ingest.

A pseudonym is ``psn_`` + the first 32 hex digits of HMAC-SHA256(key, normalized value): the same
person gets the same pseudonym across loads (joins still work), and nobody without the key can
test a guess. The key lives in the environment (STORELIFT_PII_KEY) or in a key file outside the
warehouse; it is never written into the warehouse.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from ..errors import PrivacyError

KEY_ENV = "STORELIFT_PII_KEY"
PREFIX = "psn_"

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# An international phone number (+ then 7 or more digits with separators). Column-based masking
# catches the rest; a looser pattern would eat dates and prices in free text.
PHONE_RE = re.compile(r"\+\(?\d[\d\s().\-]{6,}\d")


def default_key_file(workspace_id: str) -> Path:
    root = Path(os.environ.get("STORELIFT_KEY_DIR", Path.home() / ".config" / "storelift" / "keys"))
    return root / f"{workspace_id}.key"


def create_key_file(path: Path) -> Path:
    """Write a new random 256-bit key readable by the owner only (kept if it already exists)."""
    path = Path(path).expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    return path


def load_key(key_file: Path | None) -> bytes:
    """The key from STORELIFT_PII_KEY, else from `key_file`."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode()
    if key_file is None:
        raise PrivacyError(f"no pseudonymization key: set {KEY_ENV} or [privacy] key_file in storelift.toml")
    path = Path(key_file).expanduser()
    if not path.exists():
        raise PrivacyError(
            f"pseudonymization key file {path} does not exist; restore it, set {KEY_ENV}, "
            "or point [privacy] key_file in storelift.toml at the right file"
        )
    key = path.read_text().strip()
    if len(key) < 32:
        raise PrivacyError(f"key file {path} holds a key shorter than 32 characters; use a 256-bit random key")
    return key.encode()


def normalize(column: str, value: str) -> str:
    """The form that makes the same person hash the same: e-mails lower-cased, phones digits only."""
    value = value.strip()
    if column == "email":
        return value.lower()
    if column == "phone":
        digits = re.sub(r"\D", "", value)
        return digits or value
    return " ".join(value.lower().split())


def pseudonym(key: bytes, column: str, value: str) -> str:
    digest = hmac.new(key, normalize(column, value).encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def pseudonymize(values: pd.Series, key: bytes, column: str) -> pd.Series:
    """Replace every non-null value by its pseudonym; values that already are pseudonyms stay."""

    def one(v):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            return None
        s = str(v)
        if s.startswith(PREFIX) or not s.strip():
            return s if s.strip() else None
        return pseudonym(key, column, s)

    return values.map(one)


def mask_text(text: str, key: bytes) -> str:
    """Replace e-mail addresses and phone numbers inside free text by their pseudonyms."""
    text = EMAIL_RE.sub(lambda m: pseudonym(key, "email", m.group(0)), text)
    return PHONE_RE.sub(lambda m: pseudonym(key, "phone", m.group(0)), text)
