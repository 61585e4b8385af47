"""Property-based contract test: requests generated from the app's own OpenAPI document, sent in-process.

For every operation, valid (positive) and invalid (negative) requests: no response may be a 5xx,
have an undocumented status, or break its documented schema. Authenticated with a real admin key
(every scope); a bounded number of examples keeps the run short.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis", reason="the test extra (schemathesis) is not installed")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402

OPERATIONS = [
    ("POST", "/v1/events"), ("POST", "/v1/identify"), ("GET", "/v1/customers/{customer_id}/consent"),
    ("PUT", "/v1/customers/{customer_id}/consent"), ("DELETE", "/v1/customers/{customer_id}"),
    ("GET", "/v1/erasure/{request_id}"), ("GET", "/health"), ("GET", "/metrics"),
    ("GET", "/v1/recommendations/{customer_id}"), ("GET", "/v1/items/{item_id}/similar"), ("POST", "/v1/decide"),
    ("GET", "/v1/customers/{customer_id}"), ("GET", "/v1/experiments/{experiment}/assignment"),
]


@pytest.fixture
def api_schema(make_api):
    api = make_api()
    return schemathesis.openapi.from_asgi("/openapi.json", api.client.app), api.headers("admin")


def test_every_operation_is_fuzzed(api_schema):
    schema, _ = api_schema
    found = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_honours_its_openapi_document(api_schema, method, path, mode):
    if mode is GenerationMode.NEGATIVE and path == "/health":
        pytest.skip("GET /health takes no input that could be made invalid")
    schema, headers = api_schema
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        # Some rules of the contract cannot be said in JSON Schema (an event time between 1990 and
        # tomorrow, ISO 4217 currencies inside free-form properties, userId or anonymousId), so a
        # schema-valid message may rightly get a documented 422: only that check is left out.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()
