"""Erase a customer from the workspace's files: model artifacts, source exports and reports.

- A recommendation artifact is refitted without the customer's row, from the interactions it was
  fitted on (same model, same parameters: what it learned from the customer is gone, not only their
  id; per-segment popular lists too; a sequential model from its saved sequences), saved as a new
  version beside the old name, and the old folder is deleted.
- Parquet files (score snapshots, source exports) lose the rows holding an identifier.
- Line files (JSON lines, CSV) lose the lines holding one; other text (HTML reports, JSON, Markdown)
  has the identifier replaced by a marker.
- Anything else that still holds an identifier is left for the scan to report, never silently kept.
"""

from __future__ import annotations

import copy
import inspect
import json
import pickle
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..artifacts import ITEM_INDEX_FILE

MARKER = "[erased]"
LINE_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv")
TEXT_SUFFIXES = (".html", ".htm", ".json", ".md", ".txt", ".xml", ".svg", ".toml", ".yaml", ".yml")
ERASED_SUFFIX = "-erased"
FILE_COLUMNS = ("path", "action", "rows")


def _holds(text: str, regex: re.Pattern) -> bool:
    return regex.search(text) is not None


def _fitted_on_kept_rows(model, matrix, keep):
    """A copy of `model` fitted on the kept customers' rows; labels given per customer (a
    Popularity's segments) keep only theirs; a sequential model (SASRec) refits on the kept
    customers' saved sequences."""
    fresh = copy.deepcopy(model)
    if hasattr(fresh, "scores_for_sequences"):
        return fresh.fit([s for s, kept in zip(model.sequences_, keep) if kept], model.n_items_)
    if getattr(fresh, "segments", None) is not None:
        fresh.segments = [label for label, kept in zip(fresh.segments, keep) if kept]
    return fresh.fit(matrix)


def refit_recommender(folder: Path, identifiers: set[str], stamp: str) -> dict | None:
    """Refit a recommendation artifact without the customers in `identifiers`; None if it holds none."""
    interactions_path = folder / "interactions.pkl"
    with open(interactions_path, "rb") as fh:
        interactions = pickle.load(fh)
    drop = interactions.users.astype(str).isin(identifiers)
    if not drop.any():
        return None
    from ..artifacts import load_models, save_models
    from ..recommend.interactions import Interactions

    keep = ~drop
    remaining = Interactions(interactions.matrix[keep], interactions.users[keep], interactions.items)
    manifest = json.loads((folder / "manifest.json").read_text())
    _, models = load_models(folder.parent, folder.name)
    model = models.get("model")
    if model is None or list(inspect.signature(model.fit).parameters)[:1] not in (["matrix"], ["sequences"]):
        shutil.rmtree(folder)
        return {"path": str(folder.name), "action": "deleted (cannot be refitted from its artifact; fit again)",
                "rows": int(drop.sum())}
    refitted = _fitted_on_kept_rows(model, remaining.matrix, keep)
    models.update(model=refitted, interactions=remaining)
    if "popular" in models:  # per-segment popular lists count the customer too
        models["popular"] = _fitted_on_kept_rows(models["popular"], remaining.matrix, keep)
    base = folder.name.split(ERASED_SUFFIX)[0]
    version = f"{base}{ERASED_SUFFIX}{stamp}"
    meta = {k: v for k, v in manifest.items() if k not in ("version", "saved_at", "models")}
    meta.update(users=remaining.n_users, interactions=int(remaining.matrix.nnz), refitted_from=folder.name,
                refitted_for="erasure")
    new_folder = save_models(folder.parent, version, models, meta)
    if (folder / ITEM_INDEX_FILE).exists():
        from ..recommend import InnerProductIndex

        InnerProductIndex("hnsw").fit(refitted.item_factors_).save(new_folder / ITEM_INDEX_FILE)
    shutil.rmtree(folder)
    return {"path": f"{folder.name} -> {version}", "action": "refitted without the customer", "rows": int(drop.sum())}


def filter_parquet(path: Path, pattern: str) -> int:
    """Drop the rows of a Parquet file that hold an identifier in any column (read as the scan reads
    it); returns rows dropped."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .traces import holding_values

    table = pq.read_table(path)
    frame = table.to_pandas()
    holds = pd.Series(False, index=frame.index)
    for column in frame.columns:
        holds |= holding_values(frame[column], pattern)
    dropped = int(holds.sum())
    if dropped:
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(table.filter(pa.array(~holds.to_numpy())), tmp)
        tmp.replace(path)
    return dropped


def filter_lines(path: Path, regex: re.Pattern) -> int:
    """Drop the lines holding an identifier (JSON lines, CSV rows); returns lines dropped."""
    lines = path.read_text(errors="surrogateescape").splitlines(keepends=True)
    kept = [line for line in lines if not _holds(line, regex)]
    if len(kept) != len(lines):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(kept), errors="surrogateescape")
        tmp.replace(path)
    return len(lines) - len(kept)


def redact_text(path: Path, regex: re.Pattern) -> int:
    """Replace each identifier in a text file by a marker; returns replacements made."""
    text = path.read_text(errors="surrogateescape")
    redacted, count = text, 0
    while True:  # a match consumes its boundary character, so "a,a" needs a second pass
        redacted, more = regex.subn(lambda m: m.group(1) + MARKER + m.group(3), redacted)
        if not more:
            break
        count += more
    if count:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(redacted, errors="surrogateescape")
        tmp.replace(path)
    return count


def erase_files(root: Path, models_dir: Path, identifiers: set[str], pattern: str, skip: set[Path]) -> pd.DataFrame:
    """Apply the rules above to every file under the workspace except `skip` (its databases)."""
    from .traces import token_pattern

    regex = re.compile(token_pattern(identifiers, capture=True))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    done = []
    if models_dir.exists():
        for folder in sorted(p for p in models_dir.iterdir() if (p / "interactions.pkl").exists()):
            row = refit_recommender(folder, identifiers, stamp)
            if row:
                done.append(row)
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and p.resolve() not in skip):
        label = str(path.relative_to(root))
        if path.suffix == ".parquet":
            rows, action = filter_parquet(path, pattern), "rows deleted"
        elif path.suffix in LINE_SUFFIXES:
            rows, action = filter_lines(path, regex), "lines deleted"
        elif path.suffix in TEXT_SUFFIXES:
            rows, action = redact_text(path, regex), "redacted"
        else:
            continue
        if rows:
            done.append({"path": label, "action": action, "rows": rows})
    return pd.DataFrame(done, columns=list(FILE_COLUMNS))
