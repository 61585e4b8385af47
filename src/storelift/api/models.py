"""Request and response models of the customer, consent, erasure, identify and health endpoints."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from ..online import CustomerConsent, ErasureRequest
from .event_models import problem, timestamp_type

Timestamp = timestamp_type(timedelta(days=1))


class IdentifyMessage(BaseModel):
    """A Segment identify call: links a device or cookie id to a customer. Traits are not stored raw."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "type": "identify", "userId": "C0001021", "anonymousId": "a-9f3e", "timestamp": "2024-05-01T12:00:00Z",
        "traits": {"email": "ada@example.com", "address": {"city": "Leeds", "country": "GB"}}}]})

    type: Literal["identify"] = Field("identify", description="Always identify.")
    user_id: str = Field(alias="userId", min_length=1, max_length=256, description="The store's customer id.")
    anonymous_id: str = Field(alias="anonymousId", min_length=1, max_length=256,
                              description="The device or cookie id to link to userId.")
    message_id: str | None = Field(None, alias="messageId", max_length=255, description="Message id (not required).")
    timestamp: Timestamp | None = Field(None, description="When the customer was identified; default now.")
    traits: dict[str, Any] = Field(
        default_factory=dict, description="Customer traits. email, phone, firstName, lastName and address.street "
        "are pseudonymized with the workspace key; city, postalCode, state, country, createdAt, gender and "
        "birthYear are kept; every other trait is dropped.")


class IdentifyResult(BaseModel):
    linked: bool = Field(description="True when this anonymousId was not linked to this userId before.")
    kept_traits: list[str] = Field(description="Traits stored (canonical names; PII ones as pseudonyms).")
    dropped_traits: list[str] = Field(description="Traits not stored.")


class ConsentChanges(BaseModel):
    """The purposes to grant (true) or withdraw (false); purposes left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    analytics: StrictBool | None = Field(None, description="Measurement and analytics.")
    personalization: StrictBool | None = Field(None, description="Personalized recommendations and content.")
    email: StrictBool | None = Field(None, description="Marketing e-mail.")
    sms: StrictBool | None = Field(None, description="Marketing text messages.")
    pricing_profiling: StrictBool | None = Field(None, description="Prices or offers based on the customer's profile.")

    @model_validator(mode="after")
    def _some(self) -> "ConsentChanges":
        if not self.changes():
            raise problem("missing_field", "purposes names no purpose; send e.g. {\"personalization\": false}",
                         "purposes")
        return self

    def changes(self) -> dict[str, bool]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ConsentUpdate(BaseModel):
    """Grant or withdraw consent purposes; the change is in force for the very next request."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"purposes": {"personalization": False, "email": True}, "source": "cookie_banner"}]})

    purposes: ConsentChanges
    source: str = Field("api", min_length=1, max_length=100,
                        description="Where the choice was made, e.g. cookie_banner or account_settings.")


class PurposeConsent(BaseModel):
    granted: bool = Field(description="Whether the purpose may be used now (false without a record, and while "
                                      "an erasure request is queued).")
    recorded_at: datetime | None = Field(description="When the record in force was made (UTC); null: never asked.")
    source: str | None = Field(description="Where the record in force came from.")


class ConsentHistoryItem(BaseModel):
    purpose: str
    granted: bool
    recorded_at: datetime
    source: str | None


class ConsentState(BaseModel):
    """A customer's consent now, and the newest 100 records that led to it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "customer_id": "C0001021", "erasure_requested": False, "personalization_allowed": False,
        "purposes": {"personalization": {"granted": False, "recorded_at": "2024-05-01T12:00:00.000001Z",
                                         "source": "cookie_banner"}},
        "history": [{"purpose": "personalization", "granted": False, "recorded_at": "2024-05-01T12:00:00.000001Z",
                     "source": "cookie_banner"}]}]})

    customer_id: str
    erasure_requested: bool = Field(description="An erasure request is queued: nothing is personalized.")
    personalization_allowed: bool = Field(description="Shorthand for purposes.personalization.granted.")
    purposes: dict[str, PurposeConsent] = Field(description="Every purpose, with the record in force.")
    history: list[ConsentHistoryItem] = Field(description="Records, newest first.")

    @classmethod
    def of(cls, state: CustomerConsent) -> "ConsentState":
        purposes = {}
        for purpose, record in state.in_force.items():
            purposes[purpose] = PurposeConsent(
                granted=state.has_consent(purpose), recorded_at=record.recorded_at if record else None,
                source=record.source if record else None)
        history = [ConsentHistoryItem(purpose=r.purpose, granted=r.granted, recorded_at=r.recorded_at,
                                      source=r.source) for r in state.history]
        return cls(customer_id=state.customer_id, erasure_requested=state.erasure_requested,
                   personalization_allowed=state.has_consent("personalization"), purposes=purposes,
                   history=history)


class ErasureStatus(BaseModel):
    """An erasure request. While it is queued the customer is treated as having given no consent."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "request_id": "er_5b0e8c1d2f3a4b5c6d7e8f9a0b1c2d3e", "customer_id": "C0001021", "status": "queued",
        "requested_at": "2024-05-01T12:00:00Z", "done_at": None}]})

    request_id: str = Field(description="Quote it to GET /v1/erasure/{request_id}.")
    customer_id: str
    status: Literal["queued", "done"]
    requested_at: datetime
    done_at: datetime | None

    @classmethod
    def of(cls, request: ErasureRequest) -> "ErasureStatus":
        return cls(request_id=request.request_id, customer_id=request.customer_id, status=request.status,
                   requested_at=request.requested_at, done_at=request.done_at)


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    store: Literal["sqlite", "postgres"] = Field(description="The online store's engine.")
    process: int = Field(description="Id of the worker process that answered.")


CustomerId = Annotated[str, Field(min_length=1, max_length=256, description="The store's customer id.")]
