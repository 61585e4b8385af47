"""The epsilon budget of differentially private releases: how much privacy loss a workspace may spend in
total, and a ledger of every release that spent some (sequential composition: the epsilons add up).

`EpsilonBudget` is the pure, in-memory budget for library use. `WorkspaceBudget` keeps the same budget in
`<workspace>/privacy_budget.json` and records each spend durably (locked read, check, write to a temporary
file, fsync, replace) before the release it pays for is computed, so a crash never forgets a spend.

Ledger columns (LEDGER_COLUMNS): released_at (UTC, ISO 8601), what (the release, in words), epsilon (spent
by that release), spent (cumulative epsilon after it).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..errors import StoreliftError

BUDGET_FILE = "privacy_budget.json"
DEFAULT_TOTAL_EPSILON = 3.0
LEDGER_COLUMNS = ["released_at", "what", "epsilon", "spent"]
# comparisons of summed epsilons forgive float rounding of this size, never more
_ROUNDING_SLACK = 1e-12

try:  # POSIX: serialise concurrent spenders of one workspace
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class DifferentialPrivacyError(StoreliftError, ValueError):
    """A private release or its budget was asked for with a parameter that cannot work."""

    exit_code = 2


class BudgetExceededError(DifferentialPrivacyError):
    """A release would spend more epsilon than the budget has left."""

    exit_code = 9


def check_epsilon(epsilon, name: str = "epsilon") -> float:
    """`epsilon` as a float, or an error naming the parameter when it is not a positive finite number."""
    try:
        value = float(epsilon)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(epsilon, bool) or not math.isfinite(value) or value <= 0:
        raise DifferentialPrivacyError(
            f"{name} is {epsilon!r}; it must be a positive finite number (smaller spends less privacy and adds "
            "more noise; 0.1 to 1 per release is usual)")
    return value


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class EpsilonBudget:
    """A total epsilon and the releases that spent from it; `charge` refuses a spend beyond the total."""

    total_epsilon: float = DEFAULT_TOTAL_EPSILON
    releases: list[dict] = field(default_factory=list)
    total_changes: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.total_epsilon = check_epsilon(self.total_epsilon, "total_epsilon")

    @property
    def spent(self) -> float:
        return math.fsum(float(r["epsilon"]) for r in self.releases)

    @property
    def remaining(self) -> float:
        return max(0.0, self.total_epsilon - self.spent)

    def require(self, epsilon: float, what: str, where: str = "the privacy budget") -> float:
        """Check that `epsilon` fits in what is left (spending nothing); returns it as a float."""
        epsilon = check_epsilon(epsilon)
        if epsilon > self.remaining + _ROUNDING_SLACK:
            raise BudgetExceededError(
                f"releasing {what} needs epsilon {epsilon:g}, but {where} has only {self.remaining:g} of "
                f"{self.total_epsilon:g} left ({self.spent:g} spent over {len(self.releases)} release(s)); ask "
                f"for a smaller epsilon (at most {self.remaining:g}) or raise the total deliberately with "
                "set_total_epsilon(..., reason=...), which records why")
        return epsilon

    def charge(self, epsilon: float, what: str, at: str | None = None) -> dict:
        """Record a release of `what` spending `epsilon`; returns the ledger entry."""
        if not str(what or "").strip():
            raise DifferentialPrivacyError("what is empty; say what the release is, e.g. 'customer counts by "
                                           "rfm_segment', so the ledger can be audited")
        epsilon = self.require(epsilon, what)
        entry = {"released_at": at or _now(), "what": str(what), "epsilon": epsilon}
        self.releases.append(entry)
        return entry

    def set_total(self, total_epsilon: float, reason: str, at: str | None = None) -> dict:
        """Change the total deliberately (never below what is spent); the change and its reason are kept."""
        total = check_epsilon(total_epsilon, "total_epsilon")
        if not str(reason or "").strip():
            raise DifferentialPrivacyError("reason is empty; changing a privacy budget needs a reason on record, "
                                           "e.g. 'approved by the DPO for the Q3 board report'")
        if total < self.spent - _ROUNDING_SLACK:
            raise DifferentialPrivacyError(
                f"total_epsilon {total:g} is below the {self.spent:g} already spent; spent privacy cannot be "
                f"taken back, so pass at least {self.spent:g}")
        change = {"changed_at": at or _now(), "from": self.total_epsilon, "to": total, "reason": str(reason)}
        self.total_changes.append(change)
        self.total_epsilon = total
        return change

    def ledger(self) -> pd.DataFrame:
        """One row per release, oldest first. Columns: LEDGER_COLUMNS."""
        frame = pd.DataFrame(self.releases, columns=LEDGER_COLUMNS[:-1])
        frame["epsilon"] = frame["epsilon"].astype("float64")
        frame["spent"] = frame["epsilon"].cumsum()
        return frame

    def to_json(self) -> str:
        return json.dumps({"total_epsilon": self.total_epsilon, "releases": self.releases,
                           "total_changes": self.total_changes}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, path: Path | str = BUDGET_FILE) -> "EpsilonBudget":
        try:
            raw = json.loads(text)
            releases = [{"released_at": str(r["released_at"]), "what": str(r["what"]),
                         "epsilon": float(r["epsilon"])} for r in raw["releases"]]
            return cls(float(raw["total_epsilon"]), releases, list(raw.get("total_changes", [])))
        except (ValueError, TypeError, KeyError) as error:
            raise DifferentialPrivacyError(
                f"{path}: not a readable privacy budget ({error}); restore it from a backup. Do not delete it: "
                "that would forget the epsilon already spent") from error


class WorkspaceBudget:
    """The epsilon budget of one workspace, kept in `<root>/privacy_budget.json` (created on first spend)."""

    def __init__(self, root: Path | str, default_total: float = DEFAULT_TOTAL_EPSILON):
        self.path = Path(root) / BUDGET_FILE
        self.default_total = check_epsilon(default_total, "default_total")

    def read(self) -> EpsilonBudget:
        """The budget as recorded now (a fresh one with the default total when nothing was spent yet)."""
        if not self.path.exists():
            return EpsilonBudget(self.default_total)
        return EpsilonBudget.from_json(self.path.read_text(), self.path)

    @property
    def remaining(self) -> float:
        return self.read().remaining

    def ledger(self) -> pd.DataFrame:
        """One row per recorded release. Columns: LEDGER_COLUMNS."""
        return self.read().ledger()

    def require(self, epsilon: float, what: str) -> float:
        """Check that `epsilon` fits in what is left, spending nothing."""
        return self.read().require(epsilon, what, where=str(self.path))

    def charge(self, epsilon: float, what: str) -> dict:
        """Record a release spending `epsilon`; the entry is on disk when this returns."""
        with self._locked():
            budget = self.read()
            budget.require(epsilon, what, where=str(self.path))
            entry = budget.charge(epsilon, what)
            self._write(budget)
        return entry

    def set_total(self, total_epsilon: float, reason: str) -> EpsilonBudget:
        """Change the workspace's total deliberately; the change and its reason are recorded."""
        with self._locked():
            budget = self.read()
            budget.set_total(total_epsilon, reason)
            self._write(budget)
        return budget

    @contextlib.contextmanager
    def _locked(self):
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(BUDGET_FILE + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, budget: EpsilonBudget) -> None:
        """Write beside the ledger, flush to disk, then swap it in: the file is always the old or the new."""
        tmp = self.path.with_name(BUDGET_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(budget.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError):  # make the rename itself durable where directories can be synced
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)


def set_total_epsilon(root: Path | str, total_epsilon: float, reason: str) -> EpsilonBudget:
    """Raise (or lower) a workspace's total epsilon on purpose, with the reason kept in its ledger."""
    return WorkspaceBudget(root).set_total(total_epsilon, reason)
