"""Request models of POST /v1/events: Segment track and page messages, alone or in a batch.

The accepted event names depend on the workspace (Segment's e-commerce names plus its
custom_events), so the models are built per app by `event_models`.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, WithJsonSchema,
                      field_validator, model_validator)
from pydantic_core import PydanticCustomError

from ..schema import EARLIEST_TIME, ISO_CURRENCIES
from ..online.events import VALUE_KEYS

EARLIEST = datetime.fromisoformat(EARLIEST_TIME).replace(tzinfo=timezone.utc)
ID_KEYS = ("product_id", "order_id", "decision_id")


def problem(code: str, message: str, field: str | None = None) -> PydanticCustomError:
    return PydanticCustomError(f"storelift_{code}", message, {"field": field} if field else None)


def parse_time(value: Any, field: str = "timestamp", max_future: timedelta = timedelta(days=1)) -> datetime:
    """An ISO 8601 string with a time zone, between 1990 and a little after now, as an aware UTC datetime."""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise problem("invalid_timestamp", f"{field} {value[:40]!r} is not an ISO 8601 time; send e.g. "
                                              "2024-05-01T12:00:00Z", field) from None
    else:
        raise problem("invalid_timestamp", f"{field} must be an ISO 8601 string such as 2024-05-01T12:00:00Z, "
                                          f"not {type(value).__name__}", field)
    if when.tzinfo is None:
        raise problem("invalid_timestamp", f"{field} {value!r} has no time zone; add Z (UTC) or an offset such "
                                          "as +02:00", field)
    when = when.astimezone(timezone.utc)
    if when < EARLIEST:
        raise problem("invalid_timestamp", f"{field} {value!r} is before {EARLIEST_TIME}; check the clock or the "
                                          "unit", field)
    if when > datetime.now(timezone.utc) + max_future:
        raise problem("invalid_timestamp", f"{field} {value!r} is in the future; check the sender's clock", field)
    return when


def timestamp_type(max_future: timedelta):
    return Annotated[datetime, BeforeValidator(lambda v: parse_time(v, max_future=max_future)),
                     WithJsonSchema({"type": "string", "format": "date-time",
                                     "description": "ISO 8601 with a time zone, e.g. 2024-05-01T12:00:00Z."})]


def _is_finite_money(v: int | float) -> bool:
    try:
        return math.isfinite(float(v))
    except OverflowError:  # an integer beyond float range
        return False


def check_properties(props: dict[str, Any], event: str | None) -> dict[str, Any]:
    """The properties storelift reads must have usable types; the rest pass through as JSON."""
    for key in VALUE_KEYS:
        v = props.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise problem("invalid_value", f"properties.{key} must be a number, not {v!r}", f"properties.{key}")
        if v is not None and not _is_finite_money(v):
            raise problem("invalid_value", f"properties.{key} is {str(v)[:40]}, beyond any amount of money; send the "
                                          "amount as a plain number", f"properties.{key}")
    currency = props.get("currency")
    if currency is not None and (not isinstance(currency, str) or currency.upper() not in ISO_CURRENCIES):
        raise problem("invalid_currency", f"properties.currency {currency!r} is not an ISO 4217 code; send e.g. "
                                         "USD, EUR or GBP", "properties.currency")
    for key in ID_KEYS:
        v = props.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
            raise problem("invalid_value", f"properties.{key} must be a string, not {v!r}", f"properties.{key}")
    if props.get("query") is not None and not isinstance(props["query"], str):
        raise problem("invalid_value", "properties.query must be a string", "properties.query")
    if event == "Recommendation Shown":
        if not isinstance(props.get("decision_id"), str) or not props["decision_id"]:
            raise problem("missing_field", "a Recommendation Shown event needs properties.decision_id, the id of "
                                          "the decision whose list was shown", "properties.decision_id")
        position = props.get("position")
        if isinstance(position, bool) or not isinstance(position, int) or position < 1:
            raise problem("invalid_value", "a Recommendation Shown event needs properties.position, the item's "
                                          "1-based place in the list", "properties.position")
    return props


TRACK_EXAMPLE = {
    "type": "track", "event": "Product Viewed", "messageId": "6f1c2a4e-8a51-4d0e-9d1e-0b3f6c1a2b7d",
    "timestamp": "2024-05-01T12:00:00Z", "userId": "C0001021", "anonymousId": "a-9f3e",
    "properties": {"product_id": "P-3312", "price": 24.5, "currency": "EUR"},
    "context": {"sessionId": "s-77"},
}


@dataclass(frozen=True)
class EventModels:
    """The models of one app: a message, a batch, and the body that is either."""

    message: type[BaseModel]
    batch: type[BaseModel]
    body: Any


def event_models(event_names: frozenset[str], max_batch: int = 500,
                 max_future: timedelta = timedelta(days=1)) -> EventModels:
    names = tuple(sorted(event_names))
    Timestamp = timestamp_type(max_future)
    EventName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(names)})]

    class EventMessage(BaseModel):
        """A Segment spec track or page call. Only the fields below are read; others are ignored."""

        model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [TRACK_EXAMPLE]})

        type: Literal["track", "page"] = Field(
            "track", description="track for an action; page for a page view (stored as event 'Page Viewed').")
        event: EventName | None = Field(
            None, description="Segment e-commerce event name (or one of the workspace's custom_events); "
                              "required for track calls.", examples=["Product Viewed"])
        message_id: str = Field(alias="messageId", min_length=1, max_length=255,
                                description="Unique id of the message; a message sent twice is stored once.")
        timestamp: Timestamp = Field(description="When it happened: ISO 8601 with a time zone.")
        user_id: str | None = Field(None, alias="userId", min_length=1, max_length=256,
                                    description="The store's customer id, when known.")
        anonymous_id: str | None = Field(None, alias="anonymousId", min_length=1, max_length=256,
                                         description="Device or cookie id; userId or anonymousId is required.")
        properties: dict[str, Any] = Field(
            default_factory=dict, description="Event properties as in the Segment e-commerce spec: product_id, "
            "order_id, query, price/revenue/total/value (numbers), currency (ISO 4217), decision_id; "
            "Recommendation Shown also needs decision_id and position. E-mails and phones are pseudonymized.")
        context: dict[str, Any] = Field(
            default_factory=dict, description="Only context.sessionId is kept; IPs and user agents are not stored.")

        @field_validator("event")
        @classmethod
        def _known_event(cls, value: str | None) -> str | None:
            if value is not None and value not in event_names:
                raise problem("unknown_event", f"event {value[:80]!r} is not a Segment e-commerce event name or a "
                             "custom event of this workspace; use e.g. 'Product Viewed', or add the name to "
                             "[ingest] custom_events in storelift.toml", "event")
            return value

        @model_validator(mode="after")
        def _consistent(self) -> "EventMessage":
            if self.type == "track" and self.event is None:
                raise problem("missing_field", "a track message needs event, e.g. 'Product Viewed' (or send "
                                              "type 'page' for a page view)", "event")
            if self.user_id is None and self.anonymous_id is None:
                raise problem("missing_field", "a message needs userId or anonymousId; send the customer's id or "
                                              "the device's", "userId")
            check_properties(self.properties, "Page Viewed" if self.type == "page" else self.event)
            return self

    class EventBatch(BaseModel):
        """Up to `max_batch` messages, stored all or none: one bad message rejects the batch with 422."""

        model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"batch": [TRACK_EXAMPLE]}]})

        batch: list[EventMessage] = Field(min_length=1, max_length=max_batch,
                                          description=f"1 to {max_batch} messages.")

    def kind(value: Any) -> str | None:
        if isinstance(value, dict):
            return "batch" if "batch" in value else "message"
        if isinstance(value, BaseModel):
            return "batch" if hasattr(value, "batch") else "message"
        return None

    body = Annotated[Union[Annotated[EventMessage, Tag("message")], Annotated[EventBatch, Tag("batch")]],
                     Discriminator(kind, custom_error_type="storelift_not_an_object",
                                   custom_error_message="the body must be a JSON object: one Segment message, "
                                                        "or {\"batch\": [messages]}")]
    return EventModels(EventMessage, EventBatch, body)


class EventsAccepted(BaseModel):
    """Sent only after every message is durably stored."""

    received: int = Field(description="Messages in the request.", examples=[500])
    stored: int = Field(description="Messages stored now for the first time.", examples=[498])
    duplicates: int = Field(description="Messages whose messageId was already stored (not stored again).",
                            examples=[2])
