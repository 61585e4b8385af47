"""Consent and erasure: GET/PUT /v1/customers/{id}/consent, DELETE /v1/customers/{id}, GET /v1/erasure/{id}."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from .auth import require_json, require_scope
from .errors import ApiError, error_responses
from .models import ConsentState, ConsentUpdate, CustomerId, ErasureStatus

router = APIRouter(prefix="/v1", tags=["customers"])

CustomerPath = Path(min_length=1, max_length=256, description="The store's customer id.", examples=["C0001021"])


@router.get("/customers/{customer_id}/consent", response_model=ConsentState, summary="A customer's consent",
            description="The purposes in force now and the newest 100 records. A customer never asked has "
                        "granted nothing. While an erasure request is queued every purpose reads as not granted.",
            dependencies=[require_scope("read")], responses=error_responses(401, 403, 404, 422, 429, 503))
def get_consent(request: Request, customer_id: CustomerId = CustomerPath) -> ConsentState:
    return ConsentState.of(request.app.state.services.store.consent(customer_id))


@router.put("/customers/{customer_id}/consent", response_model=ConsentState, summary="Grant or withdraw consent",
            description="Record grants (true) and withdrawals (false). The change is committed before the "
                        "response, so the very next request on any worker sees it. Needs the consent scope.",
            dependencies=[require_scope("consent"), Depends(require_json)],
            responses=error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503))
def put_consent(request: Request, update: ConsentUpdate, customer_id: CustomerId = CustomerPath) -> ConsentState:
    store = request.app.state.services.store
    store.record_consent(customer_id, update.purposes.changes(), update.source)
    return ConsentState.of(store.consent(customer_id))


@router.delete("/customers/{customer_id}", response_model=ErasureStatus, status_code=202,
               summary="Request erasure of a customer",
               description="Queue the erasure of everything stored about the customer and stop personalizing "
                           "them at once (they are treated as having given no consent). The erasure itself is "
                           "done by a later job; follow it with GET /v1/erasure/{request_id}. Asking again "
                           "while a request is queued returns that request. Needs the admin scope.",
               dependencies=[require_scope("admin")], responses=error_responses(401, 403, 404, 422, 429, 503))
def delete_customer(request: Request, customer_id: CustomerId = CustomerPath) -> JSONResponse:
    erasure, _ = request.app.state.services.store.request_erasure(customer_id)
    return JSONResponse(ErasureStatus.of(erasure).model_dump(mode="json"), status_code=202)


@router.get("/erasure/{request_id}", response_model=ErasureStatus, summary="Status of an erasure request",
            dependencies=[require_scope("read")], responses=error_responses(401, 403, 404, 422, 429, 503))
def get_erasure(request: Request,
                request_id: str = Path(min_length=1, max_length=100, description="Id from DELETE /v1/customers.",
                                       examples=["er_5b0e8c1d2f3a4b5c6d7e8f9a0b1c2d3e"])) -> ErasureStatus:
    erasure = request.app.state.services.store.erasure_request(request_id)
    if erasure is None:
        raise ApiError(404, "erasure_request_not_found", f"no erasure request has id {request_id[:100]!r}; use the "
                       "request_id returned by DELETE /v1/customers/{customer_id}", field="request_id")
    return ErasureStatus.of(erasure)
