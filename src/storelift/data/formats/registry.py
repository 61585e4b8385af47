"""Which adapter reads a file: by name (`--format`) or by looking at the file."""

from __future__ import annotations

from pathlib import Path

from ...errors import IngestError
from .amazon import AmazonSequencesAdapter
from .base import Adapter
from .canonical import CanonicalAdapter, table_for
from .cdnow import CdnowAdapter
from .diginetica import DigineticaCategoriesAdapter, DigineticaPurchasesAdapter
from .ga4 import GA4Adapter
from .online_retail import OnlineRetailAdapter
from .segment import SegmentAdapter
from .shopify import ShopifyAdapter

# Detection order: specific layouts first, the canonical file-name rule last.
ADAPTERS: list[type[Adapter]] = [
    OnlineRetailAdapter,
    CdnowAdapter,
    DigineticaPurchasesAdapter,
    DigineticaCategoriesAdapter,
    ShopifyAdapter,
    GA4Adapter,
    SegmentAdapter,
    AmazonSequencesAdapter,
]


def register(adapter: type[Adapter], first: bool = True) -> None:
    """Add a format; `first` puts it before the built-in ones when detecting."""
    if adapter not in ADAPTERS:
        ADAPTERS.insert(0 if first else len(ADAPTERS), adapter)


def get(fmt: str, path: Path | None = None) -> Adapter:
    """The adapter called `fmt`; `canonical:TABLE` (or `canonical` with a table-named file) for canonical files."""
    if fmt.startswith("canonical"):
        table = fmt.split(":", 1)[1] if ":" in fmt else (table_for(path) if path else None)
        if not table:
            raise IngestError(f"{path}: say which table the file holds, e.g. --format canonical:orders")
        return CanonicalAdapter(table)
    for a in ADAPTERS:
        if a.name == fmt:
            return a()
    known = ", ".join(a.name for a in ADAPTERS)
    raise IngestError(f"unknown format {fmt!r}; known formats: {known}, canonical:TABLE")


def detect(path: Path) -> Adapter:
    """The adapter whose layout the file matches, or an error that lists the formats."""
    path = Path(path)
    head = _head(path)
    for a in ADAPTERS:
        try:
            if a.sniff(path, head):
                return a()
        except Exception:
            continue
    if CanonicalAdapter.sniff(path, head):
        return CanonicalAdapter(table_for(path))
    known = ", ".join(a.name for a in ADAPTERS)
    raise IngestError(
        f"{path}: cannot tell the file's format from its columns or name; pass --format with one of "
        f"{known}, or canonical:TABLE for a canonical table"
    )


def _head(path: Path, size: int = 8192) -> str:
    if path.suffix.lower() == ".parquet":
        return ""
    with open(path, "rb") as fh:
        return fh.read(size).decode("utf-8", errors="replace")
