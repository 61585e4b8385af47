"""The API's one error shape, ``{"error": {"code", "message", "field"?, "errors"?}}``, and its handlers.

Every 4xx names the problem and the fix; a 5xx never carries a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import StoreliftError
from ..online.errors import OnlineStoreBusy, OnlineStoreError
from .validation import validation_error

log = logging.getLogger("storelift.api")


class ErrorItem(BaseModel):
    """One problem in a request body."""

    code: str = Field(description="Machine-readable kind of problem, e.g. missing_field or unknown_event.")
    message: str = Field(description="What is wrong and how to fix it.")
    field: str | None = Field(None, description="Dotted path of the field in the message, e.g. properties.currency.")
    index: int | None = Field(None, description="Position of the message in the batch (0-based), for batch requests.")


class ErrorBody(BaseModel):
    code: str = Field(description="Machine-readable error code, e.g. invalid_request, missing_api_key, rate_limited.")
    message: str = Field(description="What is wrong and how to fix it.")
    field: str | None = Field(None, description="The field at fault, when there is one.")
    errors: list[ErrorItem] | None = Field(None, description="Every problem found, for invalid request bodies.")


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorBody

    model_config = {"json_schema_extra": {"examples": [{"error": {
        "code": "invalid_request", "message": "1 of 2 messages is invalid; nothing was stored. Fix them and resend "
                                              "the whole batch.",
        "field": "timestamp", "errors": [{"code": "invalid_timestamp", "index": 1, "field": "timestamp",
                                          "message": "timestamp '2024-13-01' is not an ISO 8601 time; send e.g. "
                                                     "2024-05-01T12:00:00Z"}]}}]}}


class ApiError(StoreliftError):
    """An error the API answers with its status and JSON error body."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 errors: list[ErrorItem] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.errors, self.headers = errors, headers

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.field, self.errors, self.headers)


class BodyTooLarge(StarletteHTTPException):
    """Raised while reading a body that grew past the limit (FastAPI passes HTTP exceptions through)."""

    def __init__(self, limit: int):
        super().__init__(413, body_too_large_message(limit))


def body_too_large_message(limit: int) -> str:
    return (f"the request body is larger than the limit of {limit:,} bytes; send fewer messages per batch "
            "(or raise --max-body-bytes on the server)")


def error_response(status: int, code: str, message: str, field: str | None = None,
                   errors: list[ErrorItem] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, field=field, errors=errors))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


_HTTP_CODES = {404: ("not_found", "there is no such endpoint; the API is described at /docs and /openapi.json"),
               405: ("method_not_allowed", "this endpoint does not take that method; see /docs for the methods")}


def install_error_handlers(app: FastAPI) -> None:
    """JSON error bodies for our errors, validation errors, HTTP errors and store outages."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc.errors(), getattr(exc, "body", None)).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if isinstance(exc, BodyTooLarge):
            return error_response(413, "body_too_large", str(exc.detail), headers=headers)
        code, message = _HTTP_CODES.get(exc.status_code, (f"http_{exc.status_code}", str(exc.detail)))
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(OnlineStoreError)
    async def store_unavailable(request: Request, exc: OnlineStoreError) -> JSONResponse:
        if not isinstance(exc, OnlineStoreBusy):
            log.error("online store error: %s", exc)
        return error_response(503, "store_unavailable", f"the service cannot reach its store right now ({exc})",
                              headers={"Retry-After": "1"})

    @app.exception_handler(StoreliftError)
    async def storelift_error(request: Request, exc: StoreliftError) -> JSONResponse:
        return error_response(400, "bad_request", str(exc))


def internal_error_response(request_id: str) -> JSONResponse:
    """The body of a 500: no details, only what to do and the id to quote."""
    return error_response(500, "internal_error",
                          f"the service failed to handle this request (request id {request_id}); it has been "
                          "logged. Retry later, and report the request id if it keeps failing.")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the error statuses a route can answer."""
    words = {
        400: "Malformed JSON, or a request the service cannot act on.",
        401: "No API key, or an unknown or revoked one.",
        403: "The key lacks the scope this endpoint needs.",
        404: "No such endpoint or resource (a path segment holding '/' reads as another path).",
        413: "The body is larger than the service's limit.",
        415: "The body is not sent as application/json.",
        422: "The body is well-formed JSON but breaks the contract; every problem is listed.",
        429: "The key's rate limit was reached; retry after the Retry-After header's seconds.",
        503: "The online store is unreachable or locked; retry after the Retry-After header's seconds.",
    }
    retry = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}
    return {s: {"model": ErrorResponse, "description": words[s], **({"headers": retry} if s in (429, 503) else {})}
            for s in statuses}
