"""Ingest every data file of a folder (an export, or a synthetic store) in dependency order."""

from __future__ import annotations

from pathlib import Path

from ..errors import IngestError
from ..schema import TABLES
from .formats.canonical import table_for

DATA_SUFFIXES = {".csv", ".parquet", ".jsonl", ".ndjson", ".txt"}
SKIPPED_FOLDERS = {"ground_truth"}  # the synthetic store's answers, not store data


def data_files(folder: Path) -> list[Path]:
    """The folder's data files: canonical tables first, in schema order (customers before orders
    before order lines), then everything else by name. Ground truth and manifests are left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"{folder} is not a folder")
    files = [p for p in sorted(folder.rglob("*"))
             if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
             and not SKIPPED_FOLDERS & set(p.relative_to(folder).parts[:-1])]
    order = {name: i for i, name in enumerate(TABLES)}

    def rank(p: Path):
        table = table_for(p)
        return (0, order[table], p.name) if table else (1, 0, p.name)

    return sorted(files, key=rank)
