"""The facts a DPIA states, measured from the workspace: tables, personal data and its pseudonymization,
protected attributes, consent, models, decisions, audit actions, retention and where the key lives."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd

from ..audit.coverage import FREE_TEXT_COLUMNS, latest_consents
from ..data.pii import EMAIL_RE, KEY_ENV, PREFIX
from ..schema import TABLES
from .retention import RetentionError, as_count, as_utc_naive, retention_plan

PERSON_KEYS = ("customer_id", "anonymous_id", "session_id")  # columns that link a row to a person
PROTECTED_ATTRIBUTES = ("gender", "birth_year")
# What each kind of saved model learns from, by the prefix of its version folder.
MODEL_DATA = {
    "customers-": "order history per customer (orders, order_lines, refunds); writes segments, lifetime value and "
                  "churn scores (profiling)",
    "recommend-": "purchases (orders, order_lines) and browsing events per customer, with the product catalog",
}
LEVELS = ("low", "medium", "high")
PERCENT_COLUMNS = ("share", "grant_rate", "share_of_customers")
KEPT_BY_DESIGN = ("consents", "ingest_runs")  # proof of consent; load counts without personal data


# -- facts --------------------------------------------------------------------------------------
def _tables(ws) -> pd.DataFrame:
    """Columns: table, rows, identifies_people_by, personal_data_columns."""
    wh = ws.warehouse
    rows = []
    for name, spec in TABLES.items():
        if not wh.has_table(name):
            continue
        keys = [c for c in PERSON_KEYS if c in spec.column_names]
        personal = spec.pii_columns + [c for c in PROTECTED_ATTRIBUTES if c in spec.column_names]
        personal += [c for t, c in FREE_TEXT_COLUMNS if t == name]
        rows.append({"table": name, "rows": wh.count(name), "identifies_people_by": ", ".join(keys) or "-",
                     "personal_data_columns": ", ".join(personal) or "-"})
    return pd.DataFrame(rows, columns=["table", "rows", "identifies_people_by", "personal_data_columns"])


def _pii(ws) -> pd.DataFrame:
    """Columns: table, column, values, pseudonymized, raw (values that are not pseudonyms or that hold an e-mail)."""
    wh = ws.warehouse
    rows = []
    for name, spec in TABLES.items():
        if not spec.pii_columns or not wh.has_table(name):
            continue
        t = wh.table(name)
        agg = t.aggregate(**{f"n_{c}": t[c].count() for c in spec.pii_columns},
                          **{f"p_{c}": t[c].count(where=t[c].startswith(PREFIX)) for c in spec.pii_columns}).execute()
        for c in spec.pii_columns:
            n, p = as_count(agg[f"n_{c}"].iat[0]), as_count(agg[f"p_{c}"].iat[0])
            rows.append({"table": name, "column": c, "values": n, "pseudonymized": p, "raw": n - p})
    for name, column in FREE_TEXT_COLUMNS:  # free text is never pseudonymized as a whole: look for e-mails
        if not wh.has_table(name):
            continue
        t = wh.table(name)
        agg = t.aggregate(n=t[column].count(), raw=t[column].count(where=t[column].re_search(EMAIL_RE.pattern)))
        agg = agg.execute()
        n, raw = as_count(agg["n"].iat[0]), as_count(agg["raw"].iat[0])
        rows.append({"table": name, "column": column, "values": n, "pseudonymized": None, "raw": raw})
    return pd.DataFrame(rows, columns=["table", "column", "values", "pseudonymized", "raw"])


def _protected(ws) -> pd.DataFrame:
    """Columns: attribute, customers_with_value, share, values (distinct groups or the range)."""
    t = ws.warehouse.table("customers")
    agg = t.aggregate(n=t.count(), gender=t.gender.count(), groups=t.gender.nunique(), birth_year=t.birth_year.count(),
                      lo=t.birth_year.min(), hi=t.birth_year.max()).execute().iloc[0]
    n = as_count(agg["n"])
    rows = []
    for attribute in PROTECTED_ATTRIBUTES:
        present = as_count(agg[attribute])
        shown = (f"{as_count(agg['groups'])} groups" if attribute == "gender"
                 else (f"{int(agg['lo'])} to {int(agg['hi'])}" if present else "-"))
        rows.append({"attribute": attribute, "customers_with_value": present,
                     "share": present / n if n else 0.0, "values": shown})
    return pd.DataFrame(rows, columns=["attribute", "customers_with_value", "share", "values"])


def _consents(ws) -> pd.DataFrame:
    """Per purpose, the records in force. Columns: purpose, customers, granted, grant_rate (of those with a
    record), share_of_customers (granted, of all customers)."""
    wh = ws.warehouse
    latest = latest_consents(wh.table("consents"))
    per = latest.group_by("purpose").aggregate(customers=latest.customer_id.nunique(),
                                               granted=latest.count(where=latest.granted)).execute()
    n_customers = wh.count("customers")
    per["grant_rate"] = per["granted"] / per["customers"]
    per["share_of_customers"] = per["granted"] / n_customers if n_customers else float("nan")
    return per.sort_values("purpose").reset_index(drop=True)


def _models(ws) -> pd.DataFrame:
    """One row per saved model folder: version, saved_at, models, personal_data, people, per_customer_copy."""
    rows = []
    root = Path(ws.models_dir)
    for manifest_path in sorted(root.glob("*/manifest.json")) if root.exists() else []:
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            manifest = {}
        version = manifest.get("version", manifest_path.parent.name)
        data = manifest.get("personal_data") or next(
            (text for prefix, text in MODEL_DATA.items() if version.startswith(prefix)),
            "not stated in manifest.json: to be confirmed")
        copies = sorted(p.name for p in manifest_path.parent.glob("*.parquet"))
        rows.append({"version": version, "saved_at": manifest.get("saved_at", ""),
                     "models": ", ".join(manifest.get("models", [])), "personal_data": data,
                     "people": manifest.get("customers", manifest.get("users")),
                     "per_customer_copy": ", ".join(copies) or "-"})
    return pd.DataFrame(rows, columns=["version", "saved_at", "models", "personal_data", "people", "per_customer_copy"])


def _decisions(ws) -> pd.DataFrame:
    """Per initiative: decisions, customers, with_consent, consent_unknown, holdout, first, last, model_versions."""
    t = ws.warehouse.table("decisions")
    per = t.group_by("initiative").aggregate(
        decisions=t.count(), customers=t.customer_id.nunique(), with_consent=t.count(where=t.has_consent),
        consent_unknown=t.count(where=t.has_consent.isnull()), holdout=t.count(where=t.arm == "holdout"),
        first=t.decided_at.min(), last=t.decided_at.max(), model_versions=t.model_version.nunique())
    return per.order_by(ibis.desc("decisions")).execute()


def _audit_actions(ws) -> pd.DataFrame:
    """The audit log's entries per action: action, entries, last."""
    t = ws.warehouse.table("audit_log")
    return t.group_by("action").aggregate(entries=t.count(), last=t.at.max()).execute()


def _key_location(ws) -> tuple[str, str]:
    """(status, evidence) for where the pseudonymization key lives; the key itself is never read."""
    if os.environ.get(KEY_ENV):
        return "yes", f"the key comes from the environment ({KEY_ENV}), not from the warehouse or the workspace"
    key_file = ws.config.key_file
    if not key_file:
        return "no", "no key is configured ([privacy] key_file is empty and the key variable is unset)"
    path = Path(key_file).expanduser().resolve()
    if not path.exists():
        return "no", f"the key file {path} is missing: new data cannot be pseudonymized consistently"
    if Path(ws.root).resolve() in path.parents:
        return "partly", f"the key file {path} is inside the workspace folder: a copy of the workspace carries the key"
    return "yes", f"the key file {path} is outside the workspace and the warehouse"


def _queued_erasures(ws) -> int | None:
    """Erasure requests still queued in the online store (None: the workspace has no online store)."""
    from ..online import ONLINE_FILE, OnlineStore

    if not (Path(ws.root) / ONLINE_FILE).exists():
        return None
    store = OnlineStore.open(None, ws.root)
    try:
        with store.db.read() as session:
            row = session.execute("SELECT count(*) AS n FROM erasure_requests WHERE status = 'queued'").fetchone()
        return int(row["n"])
    finally:
        store.close()


# -- the draft ----------------------------------------------------------------------------------
@dataclass
class DpiaFacts:
    """Everything the draft states, measured once from the workspace at `now`."""

    ws: object
    now: pd.Timestamp
    tables: pd.DataFrame
    pii: pd.DataFrame
    protected: pd.DataFrame
    consents: pd.DataFrame
    models: pd.DataFrame
    decisions: pd.DataFrame
    actions: pd.DataFrame
    audit_entries: int
    audit_problems: pd.DataFrame
    retention: pd.DataFrame | None  # None when the policies cannot be read
    retention_problem: str | None
    queued_erasures: int | None  # None: no online store
    key_status: str
    key_evidence: str

    @classmethod
    def measure(cls, ws, now=None) -> "DpiaFacts":
        from .audit_log import verify_workspace

        now = as_utc_naive(now)
        entries, problems = verify_workspace(ws)
        try:
            plan, problem = retention_plan(ws, now), None
        except RetentionError as exc:
            plan, problem = None, str(exc)
        return cls(ws, now, _tables(ws), _pii(ws), _protected(ws), _consents(ws), _models(ws), _decisions(ws),
                   _audit_actions(ws), entries, problems, plan, problem, _queued_erasures(ws), *_key_location(ws))

    def rows(self, table: str) -> int:
        return int(self.tables.set_index("table")["rows"].get(table, 0))

    @property
    def raw_pii(self) -> pd.DataFrame:
        return self.pii[self.pii["pseudonymized"].notna() & (self.pii["raw"] > 0)]

    @property
    def raw_text(self) -> pd.DataFrame:
        return self.pii[self.pii["pseudonymized"].isna() & (self.pii["raw"] > 0)]

    @property
    def protected_present(self) -> list[str]:
        return self.protected[self.protected["customers_with_value"] > 0]["attribute"].tolist()

    @property
    def consent_unknown(self) -> int:
        return int(self.decisions["consent_unknown"].sum()) if len(self.decisions) else 0

    def recorded(self, *words: str) -> tuple[int, object]:
        """Audit entries whose action mentions one of `words`, and the time of the last one."""
        a = self.actions
        hit = a[a["action"].str.contains("|".join(words), case=False, regex=True)] if len(a) else a
        return (int(hit["entries"].sum()), hit["last"].max()) if len(hit) else (0, None)
