"""Amazon review sequences (the sequential-recommendation format): `user item item ...` per line.

Each item becomes a "Product Reviewed" event in the user's stream. The format has no times, so
events carry their position (`sequence`, 0-based) and no occurred_at. A record is one line (one
user); the events table gets one row per item.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..readers import read_lines
from .base import Adapter, IngestContext, Mapped, problems_frame

_INTS = re.compile(r"^\d+( \d+)+\s*$")


class AmazonSequencesAdapter(Adapter):
    name = "amazon_sequences"
    description = "Amazon review sequences, one line per user: user_id item_id item_id ..."
    fact_tables = ("events",)

    def read(self, path: Path, chunk_rows: int, progress=None):
        return read_lines(path, chunk_rows, progress)

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        lines = [l for l in head.splitlines()[:-1] if l.strip()][:5]  # the last line of a sample may be cut
        return bool(lines) and all(_INTS.match(l) for l in lines)

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        users, items, seqs, lines, problems = [], [], [], [], []
        for line, text in zip(frame["_line"], frame["_text"]):
            tokens = text.split()
            if len(tokens) < 2 or not all(t.isdigit() for t in tokens):
                problems.append((line, "expected 'user_id item_id item_id ...' (whole numbers, at least one item)"))
                continue
            for pos, item in enumerate(tokens[1:]):
                users.append(tokens[0])
                items.append(item)
                seqs.append(pos)
                lines.append(line)
        events = pd.DataFrame({"_line": lines, "customer_id": users, "product_id": items, "sequence": seqs})
        events["event_id"] = "amazon:" + events["customer_id"] + ":" + events["sequence"].astype(str)
        events["event"] = "Product Reviewed"
        first = ~events.duplicated("customer_id")
        return Mapped(
            tables={
                "customers": events.loc[first, ["_line", "customer_id"]],
                "products": events[["_line", "product_id"]],
                "events": events,
            },
            problems=problems_frame(*zip(*problems)) if problems else None,
        )

