"""Identity links (a device or cookie id belongs to a customer) and the traits kept with them.

Traits are never stored raw: only the canonical `customers` columns are kept, PII among them
(e-mail, phone, names, street) becomes a keyed pseudonym, and every other trait is dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from ..data import pii
from .database import Database

# Segment trait name -> canonical customers column
_TRAITS = {
    "email": "email", "phone": "phone", "firstName": "first_name", "first_name": "first_name",
    "lastName": "last_name", "last_name": "last_name", "createdAt": "created_at", "created_at": "created_at",
    "gender": "gender", "birthYear": "birth_year", "birth_year": "birth_year",
}
_ADDRESS = {"street": "street_address", "city": "city", "postalCode": "postal_code", "state": "region",
            "country": "country"}
PII_TRAITS = frozenset(["email", "phone", "first_name", "last_name", "street_address"])


@dataclass(frozen=True)
class SafeTraits:
    """Traits ready to store (canonical names, PII pseudonymized) and the names that were dropped."""

    kept: dict[str, Any]
    dropped: list[str]


def safe_traits(traits: Mapping[str, Any], pii_key: bytes | None) -> SafeTraits:
    """Keep the canonical customer traits, pseudonymize PII with `pii_key` (None keeps raw PII)."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for name, value in traits.items():
        if name == "address" and isinstance(value, Mapping):
            for part, part_value in value.items():
                column = _ADDRESS.get(part)
                if column is None or part_value is None or isinstance(part_value, (dict, list)):
                    dropped.append(f"address.{part}")
                else:
                    kept[column] = part_value
            continue
        column = _TRAITS.get(name)
        if column is None or value is None or isinstance(value, (dict, list)):
            dropped.append(name)
        else:
            kept[column] = value
    if pii_key is not None:
        for column in PII_TRAITS & kept.keys():
            kept[column] = pii.pseudonym(pii_key, column, str(kept[column]))
    return SafeTraits(kept, sorted(dropped))


def link_identity(db: Database, anonymous_id: str, customer_id: str, seen_at: datetime,
                  traits: Mapping[str, Any] | None = None) -> bool:
    """Record that `anonymous_id` is `customer_id`; returns True when the link is new.

    A later identify call refreshes last_seen_at and replaces the traits; an older one
    (retried late) changes nothing.
    """
    text = json.dumps(dict(traits or {}), sort_keys=True, default=str)
    when = db.time(seen_at)
    with db.transaction() as session:
        session.execute(
            "INSERT INTO identities (anonymous_id, customer_id, first_seen_at, last_seen_at, traits) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (anonymous_id, customer_id) DO NOTHING",
            (anonymous_id, customer_id, when, when, text))
        if session.rowcount == 1:
            return True
        session.execute(
            "UPDATE identities SET last_seen_at = ?, traits = ? "
            "WHERE anonymous_id = ? AND customer_id = ? AND last_seen_at <= ?",
            (when, text, anonymous_id, customer_id, when))
    return False


def customers_of(db: Database, anonymous_id: str) -> list[str]:
    """The customers a device or cookie id was linked to, most recent first."""
    with db.read() as session:
        rows = session.execute("SELECT customer_id FROM identities WHERE anonymous_id = ? "
                               "ORDER BY last_seen_at DESC", (anonymous_id,)).fetchall()
    return [r["customer_id"] for r in rows]
