"""Pydantic validation errors turned into the API's error items: index, field, problem and fix."""

from __future__ import annotations

from typing import Any, Sequence

FIXES = {
    "messageId": "give every message a unique id (e.g. a UUID) so a retried message is stored once",
    "timestamp": "say when it happened, in ISO 8601 with a time zone, e.g. 2024-05-01T12:00:00Z",
    "event": "name the event, e.g. 'Product Viewed'",
    "userId": "send the customer's id, as in your store",
    "anonymousId": "send the device or cookie id the storefront used before the customer signed in",
    "purposes": "send the purposes to change, e.g. {\"personalization\": false}",
}


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _field_path(parts: Sequence[Any]) -> str | None:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or None


def _item(error: dict) -> dict:
    """One pydantic error as {code, message, field, index}."""
    from .errors import ErrorItem

    loc = list(error.get("loc", ()))
    if loc[:1] == ["body"]:
        loc = loc[1:]
    if loc[:1] == ["message"] or loc[:2] == ["batch", "batch"]:  # drop the union's tag
        loc = loc[1:]
    index = None
    if len(loc) >= 2 and loc[0] == "batch" and isinstance(loc[1], int):
        index, loc = loc[1], loc[2:]
    ctx = error.get("ctx") or {}
    field = ctx.get("field") or _field_path(loc)
    kind = error.get("type", "invalid")
    given = error.get("input")
    if kind == "json_invalid":
        reason = ctx.get("error", "decode error")
        return ErrorItem(code="malformed_json", field=None,
                         message=f"the body is not valid JSON ({reason} at character {loc[0] if loc else 0}); "
                                 "send a JSON object")
    if kind == "missing" and field is None:
        message = "the request has no body; send a JSON object (see /docs for the shape)"
    elif kind == "missing":
        message = f"{field} is missing; {FIXES.get(field.split('.')[-1], 'add it')}"
    elif kind in ("model_attributes_type", "model_type", "dict_type") and field is None:
        message = f"the body must be a JSON object, not {_type_name(given)}; see /docs for the shape"
    elif kind in ("union_tag_not_found", "union_tag_invalid"):
        message = (f"the body must be a JSON object: one Segment message, or {{\"batch\": [messages]}}, "
                   f"not {_type_name(given)}")
    elif kind == "extra_forbidden":
        message = f"{field} is not a field this endpoint knows; remove it (see /docs)"
    elif kind == "too_long" and field == "batch":
        message = f"{error['msg']}; split the messages into smaller batches"
    elif kind.startswith("storelift_"):
        message = error["msg"]  # our own validators already say what to do
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"{field} must be {error['msg'].removeprefix('Input should be ')}, not {_type_name(given)}"
    else:
        message = f"{field}: {error['msg']}" if field else error["msg"]
    code = kind.removeprefix("storelift_") if kind.startswith("storelift_") else {
        "missing": "missing_field", "extra_forbidden": "unknown_field"}.get(kind, "invalid_value")
    return ErrorItem(code=code, message=message, field=field, index=index)


def validation_error(errors: Sequence[dict], body: Any):
    """The ApiError for a request that failed validation: 400 for malformed JSON, else 422 listing every problem."""
    from .errors import ApiError

    items = [_item(dict(e)) for e in errors]
    if any(i.code == "malformed_json" for i in items):
        first = next(i for i in items if i.code == "malformed_json")
        return ApiError(400, "malformed_json", first.message)
    seen, unique = set(), []
    for item in items:  # a union of body shapes may report the same problem twice
        key = (item.index, item.field, item.message)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    batch = body.get("batch") if isinstance(body, dict) else None
    if isinstance(batch, list) and any(i.index is not None for i in unique):
        bad = len({i.index for i in unique if i.index is not None})
        noun = "message is" if bad == 1 else "messages are"
        message = (f"{bad} of {len(batch)} {noun} invalid; nothing was stored. Fix them and resend the whole batch "
                   "(already stored messageIds are counted as duplicates, not stored twice).")
    elif len(unique) == 1:
        message = unique[0].message
    else:
        message = f"the request has {len(unique)} problems; nothing was stored. Fix each one listed in errors."
    field = unique[0].field if len(unique) == 1 else None
    return ApiError(422, "invalid_request", message, field=field, errors=unique)
