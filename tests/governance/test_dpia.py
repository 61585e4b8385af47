"""The DPIA draft states the workspace's own facts: counts, PII and its pseudonymization, consent, models, risks."""

import pandas as pd
import pytest

from storelift.data.pii import pseudonym
from storelift.governance.dpia import dpia_blocks, draft_dpia, write_dpia
from support import KEY

NOW = pd.Timestamp("2025-06-01")


@pytest.fixture
def ws(tmp_path):
    from storelift import Workspace

    opened = Workspace.init(tmp_path / "ws", name="Corner Shop")
    yield opened
    opened.close()


def customers(ws, emails: list[str]) -> None:
    ws.warehouse.insert("customers", pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(1, len(emails) + 1)], "email": emails,
        "gender": ["f", "m", None, "f"][:len(emails)]}))


@pytest.fixture
def shop(ws):
    """Four customers with pseudonymized e-mails, consents for two purposes and one decision."""
    customers(ws, [pseudonym(KEY, "email", f"person{i}@example.com") for i in range(4)])
    ws.warehouse.insert("consents", pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C1", "C1"],
        "purpose": ["email", "email", "email", "personalization", "email"],
        "granted": [True, True, False, True, False],
        "recorded_at": [NOW - pd.Timedelta(days=9)] * 4 + [NOW - pd.Timedelta(days=1)]}))
    ws.warehouse.insert("decisions", pd.DataFrame({
        "decision_id": ["d1"], "decided_at": [NOW - pd.Timedelta(days=2)], "customer_id": ["C2"],
        "initiative": ["recommendations"], "arm": ["treatment"], "has_consent": [True], "model_version": ["m1"]}))
    return ws


def section(text: str, number: int) -> str:
    start = text.index(f"## {number}.")
    end = text.find(f"## {number + 1}.", start)
    return text[start:end if end > 0 else None]


def test_the_draft_names_the_real_counts(shop):
    text = draft_dpia(shop, NOW)
    assert "# Data Protection Impact Assessment (draft): Corner Shop" in text
    held = section(text, 1)
    assert "| customers | 4 | customer_id |" in held
    assert "| consents | 5 | customer_id |" in held
    assert "4 customers, 0 orders, 0 events and 1 automated decisions are stored" in held
    decisions = section(text, 6)
    assert "| recommendations | 1 | 1 | 1 | 0 | 0 |" in decisions


def test_the_draft_lists_pii_columns_and_their_pseudonymization(shop):
    text = draft_dpia(shop, NOW)
    pii = section(text, 2)
    assert "| customers | email | 4 | 4 | 0 |" in pii
    for column in ("phone", "first_name", "last_name", "street_address"):
        assert f"| customers | {column} | 0 |" in pii
    assert "Raw PII found" not in text
    protected = section(text, 3)
    assert "| gender | 3 | 75.0% | 2 groups |" in protected and "| birth_year | 0 |" in protected


def test_purposes_come_with_their_grant_rates(shop):
    consent = section(draft_dpia(shop, NOW), 4)
    # C1 withdrew e-mail consent later, C3 refused: 1 of 3 with a record grants e-mail
    assert "| email | 3 | 1 | 33.3% | 25.0% |" in consent
    assert "| personalization | 1 | 1 | 100.0% | 25.0% |" in consent
    assert "No consent is recorded for: analytics, pricing_profiling, sms." in consent


def test_a_raw_email_is_flagged(ws):
    customers(ws, [pseudonym(KEY, "email", "a@example.com"), "bob@example.com"])
    text = draft_dpia(ws, NOW)
    assert "| customers | email | 2 | 1 | 1 |" in section(text, 2)
    assert "**Raw PII found:** 1 of 2 values of customers.email are not pseudonymized." in text
    assert "| pseudonymization of PII at ingest | partly |" in section(text, 8)
    assert "| Raw personal data stored in the warehouse | high | high | high |" in section(text, 9)
    assert "Decide on the raw PII found in section 2" in section(text, 10)
    assert "bob@example.com" not in text  # the draft counts raw values, it never repeats them


def test_a_workspace_without_consents_says_so(ws):
    customers(ws, [pseudonym(KEY, "email", "a@example.com")])
    text = draft_dpia(ws, NOW)
    assert "**No consents are recorded.**" in section(text, 4)
    assert "No consents are recorded: confirm where consent is collected" in section(text, 10)
    assert "| consent checked before personalization | partly |" in text


def test_saved_models_are_listed_with_the_personal_data_they_use(ws):
    from storelift.artifacts import save_models

    folder = save_models(ws.models_dir, "customers-0.1-20250501-x", {"clv": {"fitted": True}},
                         meta={"customers": 1234})
    pd.DataFrame({"customer_id": ["C1"]}).to_parquet(folder / "customer_scores.parquet")
    models = section(draft_dpia(ws, NOW), 5)
    assert "customers-0.1-20250501-x" in models and "order history per customer" in models
    assert "1,234" in models and "customer_scores.parquet" in models
    assert "| Profiling with significant effects (GDPR Art. 22) | medium |" in draft_dpia(ws, NOW)


def test_safeguards_report_the_audit_chain_checked_now(shop):
    from storelift.governance.audit_log import append_audit

    append_audit(shop, "analyst@shop", "fairness.audited", "recommendations", {"flagged": 0})
    text = draft_dpia(shop, NOW)
    safeguards = section(text, 8)
    assert "| tamper-evident audit log | yes | 1 entries, chain verified intact now |" in safeguards
    assert "| fairness audits | yes | 1 recorded" in safeguards
    shop.warehouse.con.raw_sql("UPDATE audit_log SET actor = 'mallory'")
    assert "| tamper-evident audit log | no | 1 entries, 1 break(s) found now |" in draft_dpia(shop, NOW)


def test_retention_policies_and_overdue_rows_are_stated(shop):
    with open(shop.root / "storelift.toml", "a") as fh:
        fh.write('\n[retention]\ndecisions = "1d"\n')
    text = draft_dpia(shop, NOW)
    assert "| decisions | decided_at | 1d | 1 | 1 | 1 |" in section(text, 7)
    assert "| Data kept longer than needed | high |" in section(text, 9)
    with open(shop.root / "storelift.toml", "a") as fh:
        fh.write('audit_log = "1d"\n')
    broken = draft_dpia(shop, NOW)  # a wrong policy is reported in the draft, not raised
    assert "**The retention policies cannot be read:**" in broken and "[retention] audit_log" in broken


def test_the_draft_ends_with_risks_and_open_items_for_the_dpo(shop):
    blocks = dpia_blocks(shop, NOW)
    risks = next(v for k, v in blocks if k == "table" and "risk" in getattr(v, "columns", []))
    assert set(risks["likelihood"]) <= {"low", "medium", "high"} and risks["mitigation"].str.len().gt(0).all()
    items = blocks[-1][1]
    assert any("Lawful basis" in i and "email, personalization" in i for i in items)
    assert any("sign-off" in i for i in items)


def test_write_dpia_writes_markdown_and_html(shop):
    path = write_dpia(shop, NOW)
    assert path == shop.reports_dir / "dpia.md"
    assert path.read_text() == draft_dpia(shop, NOW)
    page = (shop.reports_dir / "dpia.html").read_text()
    assert "<h1>Data Protection Impact Assessment (draft): Corner Shop</h1>" in page
    assert "33.3%" in page and "&lt;NA&gt;" not in page and "**" not in page
