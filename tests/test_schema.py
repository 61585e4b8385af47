from support import REPO

from storelift.schema import ISO_CURRENCIES, SEGMENT_EVENTS, TABLES, render_markdown


def test_docs_schema_is_rendered_from_the_code():
    assert (REPO / "docs" / "schema.md").read_text() == render_markdown(), \
        "docs/schema.md is stale: run python -m storelift.schema > docs/schema.md"


def test_every_table_has_its_key_among_its_columns():
    for spec in TABLES.values():
        assert set(spec.key) <= set(spec.column_names), spec.name
        for k in spec.key:
            assert spec.column(k).required, (spec.name, k)


def test_segment_names_and_currencies():
    assert {"Product Viewed", "Order Completed", "Products Searched", "Email Opened"} <= SEGMENT_EVENTS
    assert {"GBP", "EUR", "USD", "JPY"} <= ISO_CURRENCIES and "GBX" not in ISO_CURRENCIES


def test_pii_columns_are_the_personal_ones():
    assert TABLES["customers"].pii_columns == ["email", "phone", "first_name", "last_name", "street_address"]
