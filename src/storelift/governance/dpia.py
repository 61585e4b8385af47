"""A Data Protection Impact Assessment (GDPR Art. 35) drafted from what the workspace actually holds and
does: tables, personal data and its pseudonymization, consent, models, decisions, retention and the
safeguards in place, then the risks those facts imply. The data protection officer completes the open items.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data.pii import PREFIX
from ..schema import CONSENT_PURPOSES
from .dpia_facts import KEPT_BY_DESIGN, LEVELS, PERCENT_COLUMNS, DpiaFacts
from .retention import KEEP


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
        ("erasure", "yes",
         "`storelift governance erase` removes a customer from the online store, warehouse and files"
         f"; {erasures} erasure entries in the audit log{_when(last_erasure)}{queued}"),
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
