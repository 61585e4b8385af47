"""Valid Segment messages for the API tests (import as `from api.messages import message`)."""

from __future__ import annotations

import uuid


def message(**fields) -> dict:
    """A valid Segment track call with a fresh messageId; keyword arguments replace or add fields."""
    base = {"type": "track", "event": "Product Viewed", "messageId": uuid.uuid4().hex,
            "timestamp": "2024-05-01T12:00:00Z", "userId": "C1",
            "properties": {"product_id": "P1", "price": 9.5, "currency": "EUR"}}
    base.update(fields)
    return base
