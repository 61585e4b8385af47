"""Keyed pseudonymization of PII at ingest.

A pseudonym is ``psn_`` + the first 32 hex digits of HMAC-SHA256(key, normalized value): the same
person gets the same pseudonym across loads (joins still work), and nobody without the key can
test a guess. The key lives in the environment (STORELIFT_PII_KEY) or in a key file outside the
warehouse; it is never written into the warehouse.

A key file may hold a chain of keys, oldest first, one per line (`storelift governance rotate-key`
adds one): a pseudonym is made with the first key, then re-keyed with each later one as
``psn_`` + HMAC-SHA256(next key, pseudonym)[:32 hex], which is how rotation re-keys stored data, so
new loads still join old ones and a leaked old key alone tests no guess against stored pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import PrivacyError

KEY_ENV = "STORELIFT_PII_KEY"
PREFIX = "psn_"
MIN_KEY_CHARS = 32
# Beside the key file while a rotation re-keys the workspace: keys are refused until it finishes.
ROTATION_SUFFIX = ".rotation.json"

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


@dataclass(frozen=True)
class KeyChain:
    """Pseudonymization keys, oldest first: the first makes a pseudonym, each later one re-keys it."""

    keys: tuple[bytes, ...]

    def __post_init__(self):
        if not self.keys or not all(isinstance(k, bytes) and k for k in self.keys):
            raise PrivacyError("a key chain needs at least one non-empty key (bytes); pass the keys oldest first")

    @property
    def newest(self) -> bytes:
        return self.keys[-1]

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:  # never print key material
        return f"KeyChain({len(self.keys)} keys)"


Key = bytes | KeyChain | Sequence[bytes]


def key_layers(key: Key) -> tuple[bytes, ...]:
    """The keys to apply in order: one key (bytes), a KeyChain, or a list/tuple of keys oldest first."""
    if isinstance(key, KeyChain):
        return key.keys
    if isinstance(key, (bytes, bytearray)):
        return (bytes(key),)
    if isinstance(key, str):
        return (key.encode(),)
    if isinstance(key, (list, tuple)) and key:
        return KeyChain(tuple(k.encode() if isinstance(k, str) else bytes(k) for k in key)).keys
    raise PrivacyError(f"pseudonymization key must be bytes, a KeyChain or a list of keys, not {type(key).__name__}")


def rotation_marker(key_file: Path) -> Path:
    """The file that says a key rotation of `key_file` has started and not finished."""
    path = Path(key_file).expanduser()
    return path.with_name(path.name + ROTATION_SUFFIX)


def read_key_chain(key_file: Path) -> KeyChain:
    """Every key in `key_file`, oldest first (one per line; blank lines ignored)."""
    path = Path(key_file).expanduser()
    if not path.exists():
        raise PrivacyError(
            f"pseudonymization key file {path} does not exist; restore it, set {KEY_ENV}, "
            "or point [privacy] key_file in storelift.toml at the right file"
        )
    lines = [line.strip() for line in path.read_text().splitlines()]
    keys = [line for line in lines if line]
    if not keys:
        raise PrivacyError(f"key file {path} is empty; restore it from a backup (its keys made the stored pseudonyms)")
    for number, key in enumerate(keys, 1):
        if len(key) < MIN_KEY_CHARS:
            raise PrivacyError(f"key file {path}: key {number} is shorter than {MIN_KEY_CHARS} characters; "
                               "use a 256-bit random key")
    return KeyChain(tuple(k.encode() for k in keys))


def load_key(key_file: Path | None) -> bytes | KeyChain:
    """The key from STORELIFT_PII_KEY, else from `key_file`: bytes for a one-key file, a KeyChain for a
    file that rotation extended. Refused while a rotation of the file is unfinished (data is half re-keyed)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode()
    if key_file is None:
        raise PrivacyError(f"no pseudonymization key: set {KEY_ENV} or [privacy] key_file in storelift.toml")
    path = Path(key_file).expanduser()
    if rotation_marker(path).exists():
        raise PrivacyError(
            f"a rotation of the pseudonymization key {path} started and did not finish, so stored data is "
            "partly re-keyed; run `storelift governance rotate-key` again to finish it before loading data")
    chain = read_key_chain(path)
    return chain.keys[0] if len(chain) == 1 else chain


def normalize(column: str, value: str) -> str:
    """The form that makes the same person hash the same: e-mails lower-cased, phones digits only."""
    value = value.strip()
    if column == "email":
        return value.lower()
    if column == "phone":
        digits = re.sub(r"\D", "", value)
        return digits or value
    return " ".join(value.lower().split())


def pseudonym(key: Key, column: str, value: str) -> str:
    """``psn_`` + HMAC-SHA256(first key, normalized value)[:32 hex], re-keyed with each later key."""
    layers = key_layers(key)
    digest = hmac.new(layers[0], normalize(column, value).encode(), hashlib.sha256).hexdigest()
    out = PREFIX + digest[:32]
    for later in layers[1:]:
        out = rekeyed(later, out)
    return out


def rekeyed(key: bytes, stored: str) -> str:
    """A stored pseudonym re-keyed with a newer key: ``psn_`` + HMAC-SHA256(key, pseudonym)[:32 hex]."""
    return PREFIX + hmac.new(key, stored.encode(), hashlib.sha256).hexdigest()[:32]


def pseudonymize(values: pd.Series, key: Key, column: str) -> pd.Series:
    """Replace every non-null value by its pseudonym; values that already are pseudonyms stay."""

    def one(v):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            return None
        s = str(v)
        if s.startswith(PREFIX) or not s.strip():
            return s if s.strip() else None
        return pseudonym(key, column, s)

    return values.map(one)


def mask_text(text: str, key: Key) -> str:
    """Replace e-mail addresses and phone numbers inside free text by their pseudonyms."""
    text = EMAIL_RE.sub(lambda m: pseudonym(key, "email", m.group(0)), text)
    return PHONE_RE.sub(lambda m: pseudonym(key, "phone", m.group(0)), text)
