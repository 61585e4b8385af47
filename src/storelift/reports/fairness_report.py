"""The fairness report: who the targeting audience selects per protected group with the 80% rule, the
audience before and after mitigation, campaign audiences, and recommendation exposure vs the catalogue.

Status per group: fail = flagged (below the rule and significantly less selected than the reference
group), warn = below the rule but within chance, pass = at or above the rule, n/a = too few customers
to test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .audit_report import LAYOUT
from .html import STATUS_COLORS, Report
from .recommend_report import exposure_figure

ATTRIBUTE_NAMES = {"gender": "gender", "age_band": "age band"}
AUDIT_SHOWN = ["status", "group", "units", "selection_rate", "disparate_impact", "p_value"]


def group_status(audit: pd.DataFrame, rule: float = 0.8) -> pd.Series:
    """fail / warn / pass / n/a per audit row (see the module docstring)."""
    status = np.where(audit["flagged"], "fail",
                      np.where(audit["p_value"].isna(), "n/a",
                               np.where(audit["disparate_impact"] < rule, "warn", "pass")))
    return pd.Series(status, index=audit.index)


def _share(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.1%}"


def _ratio(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.2f}"


def _p(value) -> str:
    return "not tested" if value is None or pd.isna(value) else (f"{value:.2g}" if value >= 1e-4 else "<0.0001")


FORMATS = {"selection_rate": _share, "selection_rate_before": _share, "selection_rate_after": _share,
           "disparate_impact": _ratio, "disparate_impact_before": _ratio, "disparate_impact_after": _ratio,
           "p_value": _p, "exposure_share": _share, "catalog_share": _share, "ratio": _ratio,
           "demographic_parity_difference_before": _ratio, "demographic_parity_difference_after": _ratio,
           "equalized_odds_difference_before": _ratio, "equalized_odds_difference_after": _ratio}


def selection_figure(before: pd.DataFrame, after: pd.DataFrame, attribute: str, rule: float = 0.8) -> go.Figure:
    """Selection rate per group before and after mitigation, with the rule's line under the reference."""
    b = before[before["attribute"] == attribute]
    a = after[after["attribute"] == attribute].set_index("group").reindex(b["group"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=b["group"], y=b["selection_rate"], name="before mitigation",
                         marker_color=[STATUS_COLORS["fail"] if f else "#0969da" for f in b["flagged"]],
                         text=[_share(v) for v in b["selection_rate"]], textposition="outside"))
    fig.add_trace(go.Bar(x=b["group"], y=a["selection_rate"], name="after mitigation", marker_color="#8c959f",
                         text=[_share(v) for v in a["selection_rate"]], textposition="outside"))
    tested = b[b["p_value"].notna()]
    reference = (tested if len(tested) else b)["selection_rate"].max()
    fig.add_hline(y=rule * reference, line_dash="dash", line_color=STATUS_COLORS["warn"],
                  annotation_text=f"{rule:.0%} of the most selected group", annotation_position="top left")
    fig.update_layout(title=f"Selection rate by {ATTRIBUTE_NAMES.get(attribute, attribute)}", barmode="group",
                      **LAYOUT)
    fig.update_yaxes(tickformat=".0%")
    return fig


def _flag_list(audit: pd.DataFrame) -> str:
    flagged = audit[audit["flagged"]]
    return ", ".join(f"{ATTRIBUTE_NAMES.get(a, a)} {g}" for a, g in zip(flagged["attribute"], flagged["group"])) \
        or "none"


def add_targeting_sections(report: Report, targeting, rule: float = 0.8) -> Report:
    """The propensity audience: summary cards, one table and chart per attribute, then the mitigation."""
    d = targeting.decisions
    report.add_heading("Targeting audience")
    report.add_metrics([
        ("customers audited", len(d), f"known on {targeting.as_of:%Y-%m-%d}"),
        ("audience", _share(d["is_selected"].mean()), "top by next-purchase propensity"),
        ("flagged groups", int(targeting.before["flagged"].sum()), _flag_list(targeting.before)),
        ("flagged after mitigation", int(targeting.after["flagged"].sum()), _flag_list(targeting.after)),
    ])
    report.add_text(
        f"The decision audited is the one storelift's propensity model makes: the top {targeting.audience_share:.0%} "
        f"of customers by the probability of an order in the next {targeting.horizon_days:.0f} days, learnt from "
        f"the recorded orders before {targeting.as_of:%Y-%m-%d}. A group fails the {rule:.0%} rule when its selection "
        f"rate is below {rule:.0%} of the most selected group's and the gap is statistically significant "
        "(two-proportion z test, Bonferroni over the attribute's groups); groups too small to test are shown as "
        "n/a.", muted=True)
    for attribute in targeting.before["attribute"].unique():
        rows = targeting.before[targeting.before["attribute"] == attribute].copy()
        rows["status"] = group_status(rows, rule)
        name = ATTRIBUTE_NAMES.get(attribute, attribute)
        report.add_heading(f"By {name}", level=3)
        report.add_figure(selection_figure(targeting.before, targeting.after, attribute, rule), height_px=360)
        dpd, eod = rows["demographic_parity_difference"].iat[0], rows["equalized_odds_difference"].iat[0]
        caption = f"Before mitigation. Demographic parity difference {dpd:.3f}" + (
            f", equalized odds difference {eod:.3f}." if pd.notna(eod) else ".")
        report.add_table(rows[AUDIT_SHOWN], caption=caption, formats=FORMATS)

    report.add_heading("Mitigation")
    if targeting.mitigated_attribute is None:
        report.add_text("No group was flagged, so the audience was left as the model drew it.")
        return report
    report.add_text(
        f"Per-group thresholds (fairlearn ThresholdOptimizer, {targeting.constraint.replace('_', ' ')}) were learnt "
        f"for {ATTRIBUTE_NAMES.get(targeting.mitigated_attribute, targeting.mitigated_attribute)} on the scores and "
        f"purchases one horizon earlier and applied to the audience. The audience is "
        f"{_share(d['is_selected'].mean())} of customers before and {_share(d['is_selected_mitigated'].mean())} after.")
    comparison = targeting.comparison()
    for when, audit in (("before", targeting.before), ("after", targeting.after)):
        status = audit[["attribute", "group"]].assign(**{f"status_{when}": group_status(audit, rule)})
        comparison = comparison.merge(status, on=["attribute", "group"], how="left")
    comparison = comparison[["status_before", "status_after", *comparison.columns[:-2]]]
    shown = comparison.drop(columns=["flagged_before", "flagged_after"])
    report.add_table(shown, caption="Each group before and after mitigation.", formats=FORMATS,
                     status_columns=("status_before", "status_after"), highlight_rows=False)
    report.add_table(targeting.summary(), caption="Parity and odds differences per attribute (0 = equal).",
                     formats=FORMATS)
    return report


def add_campaign_sections(report: Report, campaigns: pd.DataFrame, rule: float = 0.8) -> Report:
    """Each sent campaign's audience against the customers it could have reached."""
    report.add_heading("Campaign audiences")
    if campaigns.empty:
        report.add_text("No campaign sends are recorded (touches of kind send).")
        return report
    for campaign, rows in campaigns.groupby("campaign", sort=True):
        rows = rows.copy()
        rows["status"] = group_status(rows, rule)
        report.add_heading(str(campaign), level=3)
        report.add_text(f"Sent from {pd.Timestamp(rows['sent_at'].iat[0]):%Y-%m-%d %H:%M} to "
                        f"{int(rows['audience'].iat[0]):,} of {int(rows['population'].iat[0]):,} reachable customers.",
                        muted=True)
        report.add_table(rows[["status", "attribute", *AUDIT_SHOWN[1:]]], formats=FORMATS)
    return report


def add_exposure_sections(report: Report, exposure: dict[str, pd.DataFrame], rule: float = 0.8) -> Report:
    """Recommendation exposure share by vendor / brand / category beside the catalogue share."""
    if not exposure:
        return report
    report.add_heading("Recommendation exposure")
    report.add_text(f"Share of recommended slots against share of the catalogue; warn marks values shown less than "
                    f"{rule:.0%} as often as their catalogue share.", muted=True)
    for by, table in exposure.items():
        shown = table.copy()
        shown.insert(0, "status", np.where(shown["ratio"] < rule, "warn", "pass"))
        report.add_heading(f"By {by}", level=3)
        report.add_figure(exposure_figure(table, by), height_px=360)
        report.add_table(shown, formats=FORMATS, max_rows=50)
    return report


def fairness_report(result, *, store_name: str | None = None, rule: float = 0.8) -> Report:
    """The whole page for a StoreFairness result (storelift.governance.fairness_store)."""
    report = Report("Fairness audit", store_name)
    planted = result.planted_bias
    if planted:
        report.add_text(f"Synthetic store with a planted bias: {planted.get('mechanism', '')} "
                        f"({planted.get('attribute')} = {planted.get('group')}, "
                        f"{planted.get('unlinked_share', 0):.0%} of that group's orders).", muted=True)
    add_targeting_sections(report, result.targeting, rule)
    add_campaign_sections(report, result.campaigns, rule)
    return add_exposure_sections(report, result.exposure, rule)


def write_fairness_report(result, path: str | Path, *, store_name: str | None = None, rule: float = 0.8) -> Path:
    """Write the fairness report (e.g. reports/fairness.html) and return its path."""
    return fairness_report(result, store_name=store_name, rule=rule).write(path)
