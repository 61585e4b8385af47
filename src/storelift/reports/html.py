"""A small builder for self-contained HTML reports: headings, text, metric cards, tables and plotly figures.

The page works offline: CSS is inline, there are no external fonts or links, and the plotly.js
bundle is inlined once in the page head when the report has at least one figure.

    report = Report("Customer lifetime value")
    report.add_heading("Top customers").add_table(frame).add_figure(fig)
    report.write(workspace.reports_dir / "clv.html")
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

# Cells holding one of these words get a coloured badge (class "badge s-<word>").
STATUS_WORDS = {"pass", "warn", "fail", "n/a", "yes", "partly", "no"}
STATUS_COLORS = {"pass": "#1a7f37", "yes": "#1a7f37", "warn": "#b35900", "partly": "#b35900",
                 "fail": "#cf222e", "no": "#cf222e", "n/a": "#6e7781"}

CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --soft:#f6f8fa; --accent:#0969da; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 32px 24px 64px; }
header.page { border-bottom: 1px solid var(--line); margin-bottom: 24px; padding-bottom: 12px; }
header.page h1 { margin: 0 0 4px; font-size: 28px; }
header.page p { margin: 0; color: var(--muted); }
nav.toc { margin: 0 0 24px; font-size: 14px; }
nav.toc a { color: var(--accent); text-decoration: none; margin-right: 16px; white-space: nowrap; }
h2 { margin: 40px 0 12px; font-size: 21px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
h3 { margin: 28px 0 8px; font-size: 17px; }
h4 { margin: 20px 0 6px; font-size: 15px; }
p { margin: 8px 0; }
p.muted { color: var(--muted); font-size: 14px; }
.metrics { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0 20px; }
.metric { flex: 1 1 140px; background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.metric .label { color: var(--muted); font-size: 13px; }
.metric .value { font-size: 24px; font-weight: 600; }
.metric .note { color: var(--muted); font-size: 12px; }
.table-wrap { overflow-x: auto; margin: 8px 0 16px; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
caption { caption-side: top; text-align: left; padding: 8px 10px; color: var(--muted); }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; position: sticky; top: 0; }
tr:last-child td { border-bottom: none; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; min-width: 3.2em; text-align: center; padding: 1px 8px; border-radius: 10px;
  color: #fff; font-size: 12px; font-weight: 600; }
@@BADGES@@
tr.row-fail td { background: #fff5f5; }
tr.row-warn td { background: #fff9ed; }
figure { margin: 12px 0 20px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
footer { margin-top: 48px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print { nav.toc { display: none; } th { position: static; } }
""".replace("@@BADGES@@", "\n".join(
    f".badge.s-{re.sub(r'[^a-z]', '', word)} {{ background: {color}; }}" for word, color in STATUS_COLORS.items()))

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="storelift">
<title>{{ title }}</title>
<style>{{ css }}</style>
{% if plotly_js %}<script type="text/javascript">{{ plotly_js }}</script>{% endif %}
</head>
<body>
<main>
<header class="page">
<h1>{{ title }}</h1>
{% if subtitle %}<p>{{ subtitle }}</p>{% endif %}
</header>
{% if toc|length > 1 %}<nav class="toc">{% for anchor, text in toc %}<a href="#{{ anchor }}">{{ text }}</a>{% endfor %}</nav>{% endif %}
{% for block in blocks %}{{ block }}
{% endfor %}
<footer>{{ footer }}</footer>
</main>
</body>
</html>
"""

_ENV = Environment(autoescape=True, keep_trailing_newline=True)
_PAGE = _ENV.from_string(PAGE)


def plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package (no network)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def status_class(value: object) -> str | None:
    """The badge class for a status word (pass, warn, fail, n/a, yes, partly, no), else None."""
    if isinstance(value, str) and value in STATUS_WORDS:
        return "s-" + re.sub(r"[^a-z]", "", value)
    return None


def format_cell(value: object) -> str:
    """A table cell as text: blanks for missing values, thousands separators, short floats, ISO dates."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        ts = pd.Timestamp(value)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:,.0f}"
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class Report:
    """A self-contained HTML page built from blocks; every `add_*` returns the report for chaining."""

    def __init__(self, title: str, subtitle: str | None = None, *, footer: str | None = None,
                 figure_height_px: int = 420):
        self.title = title
        self.subtitle = subtitle
        self.footer = footer
        self.figure_height_px = figure_height_px
        self._blocks: list[Markup] = []
        self._toc: list[tuple[str, str]] = []
        self._anchors: set[str] = set()
        self._figures = 0

    # -- blocks -------------------------------------------------------------------------------
    def add_heading(self, text: str, level: int = 2) -> "Report":
        """A heading; level-2 headings also go into the table of contents."""
        if level not in (2, 3, 4):
            raise ValueError(f"heading level must be 2, 3 or 4 (the title is the only h1), not {level}")
        anchor = _slug(text)
        base, n = anchor, 2
        while anchor in self._anchors:
            anchor, n = f"{base}-{n}", n + 1
        self._anchors.add(anchor)
        if level == 2:
            self._toc.append((anchor, text))
        self._blocks.append(Markup(f'<h{level} id="{anchor}">{html.escape(text)}</h{level}>'))
        return self

    def add_text(self, text: str, *, muted: bool = False) -> "Report":
        """Plain text (escaped); blank lines separate paragraphs."""
        cls = ' class="muted"' if muted else ""
        for para in re.split(r"\n\s*\n", text.strip()):
            if para:
                self._blocks.append(Markup(f"<p{cls}>{html.escape(' '.join(para.split()))}</p>"))
        return self

    def add_html(self, markup: str) -> "Report":
        """Trusted markup, inserted as is (never pass data through here unescaped)."""
        self._blocks.append(Markup(markup))
        return self

    def add_metrics(self, metrics: Mapping[str, object] | Iterable[tuple]) -> "Report":
        """A row of metric cards from {label: value} or (label, value[, note]) tuples."""
        items = metrics.items() if isinstance(metrics, Mapping) else metrics
        cards = []
        for item in items:
            label, value, note = (tuple(item) + (None,))[:3]
            if isinstance(value, float) and not value.is_integer() and not math.isnan(value):
                shown = f"{value:,.1f}"
            else:
                shown = format_cell(value)
            note_html = f'<div class="note">{html.escape(str(note))}</div>' if note else ""
            cards.append(f'<div class="metric"><div class="label">{html.escape(str(label))}</div>'
                         f'<div class="value">{html.escape(shown)}</div>{note_html}</div>')
        self._blocks.append(Markup(f'<div class="metrics">{"".join(cards)}</div>'))
        return self

    def add_table(self, frame: pd.DataFrame, *, caption: str | None = None, max_rows: int = 1000,
                  status_columns: Iterable[str] = ("status", "ready"),
                  formats: Mapping[str, Callable[[object], str]] | None = None,
                  index: bool = False, highlight_rows: bool = True) -> "Report":
        """A table from a DataFrame. Cells of `status_columns` become coloured badges; rows whose
        status is fail or warn are tinted. `formats` maps a column to a function value -> text."""
        formats = dict(formats or {})
        if index:
            frame = frame.reset_index()
        status_columns = [c for c in status_columns if c in frame.columns]
        shown = frame.head(max_rows)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
        body = []
        numeric = {c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c].dtype)
                   and not pd.api.types.is_bool_dtype(shown[c].dtype)}
        for row in shown.itertuples(index=False, name=None):
            cells, row_cls = [], ""
            for column, value in zip(shown.columns, row):
                text = formats[column](value) if column in formats else format_cell(value)
                badge = status_class(value) if column in status_columns else None
                if badge:
                    cells.append(f'<td><span class="badge {badge}">{html.escape(text)}</span></td>')
                    if highlight_rows and value in ("fail", "warn") and not row_cls:
                        row_cls = f' class="row-{value}"'
                else:
                    cls = ' class="num"' if column in numeric else ""
                    cells.append(f"<td{cls}>{html.escape(text)}</td>")
            body.append(f"<tr{row_cls}>{''.join(cells)}</tr>")
        more = len(frame) - len(shown)
        cap = caption or ""
        if more > 0:
            cap = f"{cap} (first {len(shown):,} of {len(frame):,} rows)".strip()
        cap_html = f"<caption>{html.escape(cap)}</caption>" if cap else ""
        if frame.empty:
            body.append(f'<tr><td colspan="{max(len(frame.columns), 1)}">no rows</td></tr>')
        self._blocks.append(Markup(
            f'<div class="table-wrap"><table>{cap_html}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"))
        return self

    def add_figure(self, fig, *, caption: str | None = None, height_px: int | None = None) -> "Report":
        """A plotly figure, drawn by the plotly.js inlined once in the page head."""
        import plotly.io as pio

        self._figures += 1
        div = pio.to_html(
            fig, full_html=False, include_plotlyjs=False, include_mathjax=False,
            div_id=f"figure-{self._figures}", default_width="100%",
            default_height=f"{height_px or self.figure_height_px}px",
            config={"displaylogo": False, "responsive": True},
        )
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._blocks.append(Markup(f"<figure>{div}{cap}</figure>"))
        return self

    # -- output -------------------------------------------------------------------------------
    @property
    def has_figures(self) -> bool:
        return self._figures > 0

    def to_html(self) -> str:
        footer = self.footer or f"Generated by storelift on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC."
        return _PAGE.render(
            title=self.title, subtitle=self.subtitle, css=Markup(CSS), toc=self._toc, blocks=self._blocks,
            plotly_js=Markup(plotly_js()) if self.has_figures else None, footer=footer,
        )

    def write(self, path: str | Path) -> Path:
        """Write the page (UTF-8), creating the folder; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        return path
