from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storelift.data.readers import read_delimited, read_jsonl


def _read(path, chunk_rows=1000, **kw):
    frames, bad = [], []
    for chunk in read_delimited(path, chunk_rows, **kw):
        frames.append(chunk.frame)
        bad.extend(chunk.unreadable)
    return pd.concat(frames, ignore_index=True), bad


def test_multiline_quoted_field_is_one_record(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text('id,note,price\n1,"two\nlines",3.5\n2,plain,4\n')
    frame, bad = _read(p)
    assert bad == []
    assert frame["note"].tolist() == ["two\nlines", "plain"]
    assert frame["_line"].tolist() == [2, 4]


def test_unclosed_quote_quarantines_only_its_line(tmp_path):
    p = tmp_path / "a.csv"
    rows = ["id,note,price", '1,"broken,3.5'] + [f"{i},ok,{i}" for i in range(2, 80)]
    p.write_text("\n".join(rows) + "\n")
    frame, bad = _read(p)
    assert [b.line for b in bad] == [2]
    assert "never closed" in bad[0].reason
    assert len(frame) == 78 and frame["_line"].iloc[0] == 3


def test_truncated_last_line_is_unreadable_with_reason(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("a,b,c\n1,2,3\n4,5")
    frame, bad = _read(p)
    assert len(frame) == 1
    assert bad[0].line == 3 and "2 fields, fewer than the header's 3" in bad[0].reason


def test_chunks_are_bounded(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(2500)))
    sizes = [chunk.records for chunk in read_delimited(p, 1000)]
    assert sizes == [1000, 1000, 500]


def test_jsonl_bad_line_is_unreadable(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text('{"a": 1}\n{"a": \n[1, 2]\n')
    chunks = list(read_jsonl(p, 100))
    assert len(chunks[0].frame) == 1
    assert [u.line for u in chunks[0].unreadable] == [2, 3]


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(cell, cell, cell), min_size=1, max_size=20))
def test_csv_round_trip_of_any_text(tmp_path_factory, rows):
    """Whatever pandas writes as CSV, the reader reads back field for field."""
    p = tmp_path_factory.mktemp("rt") / "rt.csv"
    pd.DataFrame(rows, columns=["x", "y", "z"]).to_csv(p, index=False)
    frame, bad = _read(p, chunk_rows=7)
    assert bad == []
    got = [tuple(r) for r in frame[["x", "y", "z"]].itertuples(index=False)]
    assert got == [tuple(r) for r in rows]
