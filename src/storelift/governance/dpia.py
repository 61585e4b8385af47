"""A Data Protection Impact Assessment (GDPR Art. 35) drafted from what the workspace actually holds and
does: tables, personal data and its pseudonymization, consent, models, decisions, retention and the
safeguards in place, then the risks those facts imply. The data protection officer completes the open items.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd

from ..audit.coverage import FREE_TEXT_COLUMNS
from ..data.pii import EMAIL_RE, KEY_ENV, PREFIX
from ..schema import CONSENT_PURPOSES, TABLES
from ..audit.coverage import latest_consents
from .retention import KEEP, RetentionError, as_count, as_utc_naive, retention_plan

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


def _when(at) -> str:
    return "" if at is None or pd.isna(at) else f", last {pd.Timestamp(at):%Y-%m-%d}"


def _data_sections(f: DpiaFacts) -> list[tuple[str, object]]:
    c, n_customers = f.ws.config, f.rows("customers")
    b: list[tuple[str, object]] = [
        ("h", "1. Data held"), ("table", f.tables),
        ("p", f"{n_customers:,} customers, {f.rows('orders'):,} orders, {f.rows('events'):,} events and "
              f"{f.rows('decisions'):,} automated decisions are stored."),
        ("h", "2. Personal data and pseudonymization"), ("table", f.pii)]
    if c.keep_raw_pii:
        b.append(("p", "The workspace keeps raw PII ([privacy] keep_raw_pii = true): identifying values are stored "
                       "as received. A lawful basis for this must be recorded."))
    else:
        b.append(("p", f"PII columns are pseudonymized at ingest with a keyed hash (values start with '{PREFIX}')."))
    for r in f.raw_pii.itertuples():
        b.append(("p", f"**Raw PII found:** {r.raw:,} of {r.values:,} values of {r.table}.{r.column} are not "
                       "pseudonymized."))
    for r in f.raw_text.itertuples():
        b.append(("p", f"**E-mail addresses in free text:** {r.raw:,} of {r.values:,} values of {r.table}.{r.column}."))

    present = f.protected_present
    b += [("h", "3. Protected attributes"), ("table", f.protected),
          ("p", f"Recorded: {', '.join(present)}; by the schema they are used only for fairness audits." if present
                else "No protected attribute is recorded, so fairness audits cannot compare groups.")]

    b.append(("h", "4. Purposes and consent"))
    if f.consents.empty:
        b.append(("p", "**No consents are recorded.** storelift treats a customer without a record as not "
                       "consenting: nobody is personalized, profiled for pricing or contacted. Load the store's "
                       "consent records before relying on consent as the lawful basis."))
    else:
        b += [("table", f.consents),
              ("p", "grant_rate: customers whose consent in force grants the purpose, of those with a record; "
                    f"share_of_customers: of all {n_customers:,} customers.")]
        missing = sorted(CONSENT_PURPOSES - set(f.consents["purpose"]))
        if missing:
            b.append(("p", f"No consent is recorded for: {', '.join(missing)}."))

    b += [("h", "5. Models"), ("table", f.models) if len(f.models) else ("p", "No model is saved under models/."),
          ("h", "6. Automated decisions"),
          ("table", f.decisions) if len(f.decisions) else ("p", "No decision has been recorded yet."),
          ("h", "7. Retention")]
    if f.retention is None:
        b.append(("p", f"**The retention policies cannot be read:** {f.retention_problem}"))
    else:
        b += [("table", f.retention[["table", "time_column", "policy", "keep_days", "rows_total", "rows_expired"]]),
              ("p", "rows_expired: rows older than their policy now, removed by the next `storelift governance "
                    "retain`. Saved models (and any per-customer copy in their folders) are not covered.")]
    return b


def _safeguards(f: DpiaFacts) -> pd.DataFrame:
    """Columns: safeguard, status (yes, partly, no), evidence."""
    c = f.ws.config
    erasure_job = importlib.util.find_spec("storelift.governance.erasure") is not None
    erasures, last_erasure = f.recorded("erasure", "erase")
    audits, last_audit = f.recorded("fairness")
    approvals, last_approval = f.recorded("approv")
    runs, last_run = f.recorded("retention")
    chain_ok = f.audit_problems.empty
    queued = "" if f.queued_erasures is None else f"; {f.queued_erasures} queued in the online store"
    return pd.DataFrame([
        ("pseudonymization of PII at ingest", "no" if c.keep_raw_pii else ("partly" if len(f.raw_pii) else "yes"),
         "raw PII is kept by configuration" if c.keep_raw_pii else f"{len(f.raw_pii)} PII column(s) hold raw values"),
        ("pseudonymization key outside the warehouse", f.key_status, f.key_evidence),
        ("tamper-evident audit log", "yes" if chain_ok else "no",
         f"{f.audit_entries} entries, chain verified intact now" if chain_ok
         else f"{f.audit_entries} entries, {len(f.audit_problems)} break(s) found now"),
        ("consent checked before personalization", "yes" if len(f.consents) else "partly",
         ("every decision records has_consent" if not f.consent_unknown
          else f"{f.consent_unknown} decisions lack has_consent") if len(f.consents)
         else "enforced, but no consents are recorded, so nobody is personalized"),
        ("erasure", "yes" if erasure_job else "partly",
         ("erasure of a customer from the online store, warehouse and files is installed" if erasure_job
          else "the API queues erasure requests, but no erasure job is installed")
         + f"; {erasures} erasure entries in the audit log{_when(last_erasure)}{queued}"),
        ("fairness audits", "yes" if audits else "no",
         f"{audits} recorded{_when(last_audit)}" if audits
         else "none recorded in the audit log (an audit run without an entry leaves no evidence)"),
        ("human approval of automated changes", "yes" if approvals else "no",
         f"{approvals} approval entries{_when(last_approval)}" if approvals else "none recorded in the audit log"),
        ("retention enforced", "yes" if runs else ("partly" if f.retention is not None else "no"),
         f"{runs} runs{_when(last_run)}" if runs else "policies set, never applied"),
    ], columns=["safeguard", "status", "evidence"])


def _risk(risk: str, likelihood: str, severity: str, mitigation: str) -> dict:
    score = (LEVELS.index(likelihood) + 1) * (LEVELS.index(severity) + 1)
    overall = "high" if score >= 6 else ("medium" if score >= 3 else "low")
    return {"risk": risk, "likelihood": likelihood, "severity": severity, "overall": overall, "mitigation": mitigation}


def _risks(f: DpiaFacts) -> pd.DataFrame:
    """Columns: risk, likelihood, severity, overall (likelihood x severity), mitigation."""
    raw = len(f.raw_pii) > 0 or f.ws.config.keep_raw_pii
    audited = f.recorded("fairness")[0] > 0
    profiling = len(f.models) > 0 or f.rows("customer_scores") > 0
    pricing = bool(len(f.decisions)) and bool(f.decisions["initiative"].str.contains("pric", case=False).any())
    plan = f.retention
    overdue = plan is not None and int(plan["rows_expired"].sum()) > 0
    kept = [] if plan is None else [t for t in plan[(plan["policy"] == KEEP) & (plan["rows_total"] > 0)]["table"]
                                    if t not in KEPT_BY_DESIGN]
    risks = [
        _risk("Raw personal data stored in the warehouse", "high" if raw else "low", "high",
              "reload the affected tables through `storelift ingest`, which pseudonymizes PII; keep raw PII only "
              "with a recorded lawful basis"),
        _risk("Pseudonyms re-identified with the key", "low" if f.key_status == "yes" else "medium", "high",
              "keep the key outside the workspace and its backups, readable by the owner only; rotate it if it "
              "may have leaked"),
        _risk("E-mail addresses leaking into free text", "high" if len(f.raw_text) else "low", "medium",
              "events and queries are masked at ingest; remove or reload the rows found in section 2"),
        _risk("Personalization or contact without valid consent", "medium" if f.consent_unknown else "low", "high",
              "the decide path and campaign audiences read the consent in force; a missing record means no consent"),
        _risk("Profiling with significant effects (GDPR Art. 22)", "medium" if profiling or pricing else "low",
              "high" if pricing else "medium",
              "every decision stores its explanation and model version; price changes above the policy's "
              "thresholds wait for human approval; confirm that no decision has legal or similarly significant "
              "effects"),
        _risk("Unfair treatment of protected groups",
              "low" if audited or not (len(f.decisions) or profiling) else "medium", "high",
              "run fairness audits on targeting, churn and pricing decisions and mitigate flagged groups"
              + ("" if f.protected_present else "; no protected attribute is recorded, so groups cannot be compared")),
        _risk("Data kept longer than needed", "high" if overdue else ("medium" if kept else "low"), "medium",
              "apply `storelift governance retain` on a schedule"
              + (f"; set a period for {', '.join(kept)} once the legal minimum is known" if kept else "")),
        _risk("Undetected changes to the record of processing", "low" if f.audit_problems.empty else "high", "medium",
              "hash-chained audit log with its head kept outside the warehouse; verify it regularly"),
    ]
    if f.queued_erasures is not None:
        risks.append(_risk("Erasure requests left undone", "medium" if f.queued_erasures else "low", "high",
                           f"{f.queued_erasures} request(s) queued now; personalization already stops for them; "
                           "complete them within a month (GDPR Art. 12(3))"))
    return pd.DataFrame(risks, columns=["risk", "likelihood", "severity", "overall", "mitigation"])


def _open_items(f: DpiaFacts) -> list[str]:
    items = []
    if f.consents.empty:
        items.append("No consents are recorded: confirm where consent is collected and load it.")
    if len(f.raw_pii) or f.ws.config.keep_raw_pii:
        items.append("Decide on the raw PII found in section 2: remove it, or record why it is needed.")
    purposes = ", ".join(f.consents["purpose"]) if len(f.consents) else "no purpose has consent records yet"
    return items + [
        "Lawful basis for each purpose (consent, contract or legitimate interest with its balancing test): "
        f"{purposes}.",
        "Necessity and proportionality: why each table and model above is needed for its purpose.",
        "Processors and international transfers (warehouse, online store, e-mail and SMS providers).",
        "How people exercise access, objection and erasure, and who answers within the deadline.",
        "Residual risk after the mitigations above, and whether the supervisory authority must be consulted "
        "(GDPR Art. 36).",
        "Data protection officer sign-off: name, date and advice.",
    ]


def dpia_blocks(ws, now=None) -> list[tuple[str, object]]:
    """The draft as blocks for Markdown or HTML: ("h", title), ("p", text), ("table", frame), ("list", items)."""
    f = DpiaFacts.measure(ws, now)
    intro = (f"Draft for the workspace **{ws.config.name}** ({ws.root}), drawn from its {ws.warehouse.engine} "
             f"warehouse on {f.now:%Y-%m-%d %H:%M} UTC. Every figure below was measured then; the open items need "
             "the data protection officer's judgement before the assessment can be signed.")
    return ([("p", intro)] + _data_sections(f)
            + [("h", "8. Safeguards in place"), ("table", _safeguards(f)),
               ("h", "9. Risks"), ("table", _risks(f)),
               ("h", "10. Open items for the data protection officer"), ("list", _open_items(f))])


def draft_dpia(ws, now=None) -> str:
    """The DPIA draft as Markdown, measured from the workspace at `now` (default: the current time)."""
    return _markdown(ws.config.name, dpia_blocks(ws, now))


def _percent(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.1%}"


def _cell(value) -> str:
    from ..reports.html import format_cell

    return "" if value is pd.NA else format_cell(value)


def _markdown(name: str, blocks: list[tuple[str, object]]) -> str:
    out = [f"# Data Protection Impact Assessment (draft): {name}", ""]
    for kind, value in blocks:
        if kind == "h":
            out += [f"## {value}", ""]
        elif kind == "p":
            out += [value, ""]
        elif kind == "list":
            out += [f"- [ ] {item}" for item in value] + [""]
        else:
            out += [_markdown_table(value), ""]
    return "\n".join(out)


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(column, value) -> str:
        text = _percent(value) if column in PERCENT_COLUMNS else _cell(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(c, v) for c, v in zip(frame.columns, row)) + " |"
              for row in frame.itertuples(index=False, name=None)]
    return "\n".join(lines)


def write_dpia(ws, now=None) -> Path:
    """Write reports/dpia.md and reports/dpia.html from one measurement; returns the Markdown file's path."""
    import html

    from ..reports.html import Report

    blocks = dpia_blocks(ws, now)
    report = Report(f"Data Protection Impact Assessment (draft): {ws.config.name}")
    for kind, value in blocks:
        if kind == "h":
            report.add_heading(value)
        elif kind == "p":
            report.add_text(value.replace("**", "").replace("`", ""))
        elif kind == "list":
            report.add_html("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in value) + "</ul>")
        else:
            report.add_table(value, formats={c: _percent if c in PERCENT_COLUMNS else _cell for c in value.columns})
    folder = Path(ws.reports_dir)
    report.write(folder / "dpia.html")
    path = folder / "dpia.md"
    path.write_text(_markdown(ws.config.name, blocks), encoding="utf-8")
    return path
