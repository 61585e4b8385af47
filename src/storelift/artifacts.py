"""Versioned model artifacts on disk: one folder per model run, with a manifest a person can read."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timezone
from pathlib import Path

from .errors import StoreliftError


# beside the customer models: their scores, which the HTTP service reads without opening the warehouse
CUSTOMER_SCORES_SNAPSHOT = "customer_scores.parquet"
# beside a factor model: its ANN index over item factors (faiss), built at fit time, loaded by the service
ITEM_INDEX_FILE = "item_index.faiss"


class ArtifactError(StoreliftError):
    """A model artifact folder is missing or incomplete."""

    exit_code = 7


def save_models(models_dir: Path, version: str, models: dict[str, object], meta: dict | None = None) -> Path:
    """Pickle each fitted model to models_dir/version/<name>.pkl and write manifest.json beside them.

    The manifest's fitted_at (now, unless `meta` carries one, as a refit of the same run does) orders
    versions: the newest is the one fitted last, whatever its name."""
    folder = Path(models_dir) / version
    folder.mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        tmp = folder / f"{name}.pkl.tmp"
        with open(tmp, "wb") as fh:
            pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(folder / f"{name}.pkl")  # never a half-written artifact under the final name
    now = datetime.now(timezone.utc)
    manifest = {"version": version, "saved_at": now.isoformat(timespec="seconds"),
                "fitted_at": now.isoformat(timespec="microseconds"), "models": sorted(models), **(meta or {})}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return folder


def newest_version(models_dir: Path, prefix: str = "", required: str = "manifest.json") -> str | None:
    """Name of the most recently fitted `prefix*` folder holding `required` (None if there is none):
    by its manifest's fitted_at, then saved_at (manifests written before fitted_at), then name."""
    root = Path(models_dir)
    if not root.is_dir():
        return None

    def fitted(folder: Path) -> tuple[str, str]:
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
        except (OSError, ValueError):
            manifest = {}
        stamp = str(manifest.get("fitted_at") or manifest.get("saved_at") or "")
        return datetime.fromisoformat(stamp).astimezone(timezone.utc).isoformat() if stamp else "", folder.name

    runs = [p for p in root.glob(f"{prefix}*") if (p / required).is_file()]
    return max(runs, key=fitted).name if runs else None


def load_models(models_dir: Path, version: str | None = None, prefix: str = "") -> tuple[str, dict[str, object]]:
    """The models of `version` (default: the newest folder whose name starts with `prefix`)."""
    root = Path(models_dir)
    if version is None:
        version = newest_version(root, prefix)
        if version is None:
            raise ArtifactError(f"no saved models starting with {prefix!r} under {root}; run "
                                "`storelift customers score` first")
    folder = root / version
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise ArtifactError(f"{folder} has no manifest.json; pass a version listed under {root}")
    manifest = json.loads(manifest_path.read_text())
    models = {}
    for name in manifest["models"]:
        with open(folder / f"{name}.pkl", "rb") as fh:
            models[name] = pickle.load(fh)
    return version, models
