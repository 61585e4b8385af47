"""The store's calendar: yearly and weekly seasonality, promotion weeks, and operational time.

Purchase rates are multiplied by a daily intensity s(d) = yearly(d) * weekday(d) * promo_lift(d),
normalized to mean 1 over the window, so a customer's rate lambda is an average per-day rate.
Purchases are a Poisson process in operational time S(t) = integral of s, which makes the BG/NBD
expectations hold exactly with lambda * t replaced by lambda * (S(t1) - S(t0)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from .categories import DEPARTMENTS

# Monday..Sunday purchase intensity (online stores peak on Sunday and Monday evenings).
WEEKDAY_FACTORS = np.array([1.06, 1.0, 0.98, 0.98, 0.94, 0.9, 1.14])
# Share of a day's orders by hour (UTC): low at night, peaks at lunch and in the evening.
HOURLY_WEIGHTS = np.array([1.2, 0.7, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 3.6, 4.2, 4.6, 4.9,
                           5.4, 5.1, 4.7, 4.6, 4.7, 5.0, 5.6, 6.3, 6.8, 6.4, 4.8, 2.7])


@dataclass(frozen=True)
class Promotion:
    """A sale: days when some departments are discounted by `depth` and purchase rates rise by `lift`."""

    name: str
    start: date
    days: int
    lift: float
    depth: float
    departments: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"name": self.name, "start": self.start.isoformat(),
                "end": (self.start + timedelta(days=self.days - 1)).isoformat(),
                "rate_lift": self.lift, "discount_depth": self.depth, "departments": list(self.departments)}


def _black_friday(year: int) -> date:
    nov1 = date(year, 11, 1)
    first_thursday = nov1 + timedelta(days=(3 - nov1.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def yearly_promotions(year: int) -> list[Promotion]:
    """The store's recurring sales in one year; depths differ by department so elasticity is identifiable."""
    every = DEPARTMENTS
    return [
        Promotion("January Sale", date(year, 1, 2), 10, 1.30, 0.25, ("Fashion", "Home", "Electronics")),
        Promotion("Spring Garden Week", date(year, 4, 8), 7, 1.15, 0.15, ("Garden", "Home")),
        Promotion("Summer Sale", date(year, 7, 1), 10, 1.25, 0.20, ("Fashion", "Sports", "Beauty")),
        Promotion("Back to School", date(year, 8, 26), 7, 1.10, 0.10, ("Stationery", "Electronics", "Toys")),
        Promotion("Black Friday", _black_friday(year) - timedelta(days=3), 7, 1.80, 0.30, every),
        Promotion("Boxing Day", date(year, 12, 26), 6, 1.35, 0.20, every),
    ]


@dataclass
class StoreCalendar:
    """Daily intensity, promotion depths and the operational-time map for one window."""

    start: date
    end: date  # inclusive
    yearly_amplitude: float = 0.25
    yearly_peak_day: int = 340  # day of year of the seasonal peak (early December)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; pass end >= start")
        self.n_days = (self.end - self.start).days + 1
        days = [self.start + timedelta(days=i) for i in range(self.n_days)]
        doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
        weekday = np.array([d.weekday() for d in days])
        yearly = 1 + self.yearly_amplitude * np.cos(2 * np.pi * (doy - self.yearly_peak_day) / 365.25)
        weekly = WEEKDAY_FACTORS[weekday] / WEEKDAY_FACTORS.mean()
        self.promotions = [p for y in range(self.start.year, self.end.year + 1) for p in yearly_promotions(y)
                           if p.start <= self.end and p.start + timedelta(days=p.days) > self.start]
        lift = np.ones(self.n_days)
        self.depth = np.zeros((self.n_days, len(DEPARTMENTS)))  # discount by day and department
        for p in self.promotions:
            lo = max((p.start - self.start).days, 0)
            hi = min((p.start - self.start).days + p.days, self.n_days)
            lift[lo:hi] *= p.lift
            cols = [DEPARTMENTS.index(d) for d in p.departments]
            self.depth[lo:hi, cols] = np.maximum(self.depth[lo:hi, cols], p.depth)
        raw = yearly * weekly * lift
        self.intensity = raw / raw.mean()
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.intensity)])
        hourly = HOURLY_WEIGHTS / HOURLY_WEIGHTS.sum()
        self._clock_cdf = np.concatenate([[0.0], np.cumsum(hourly)])

    @property
    def total(self) -> float:
        """Operational length of the window (equals its length in days, as mean intensity is 1)."""
        return float(self.cumulative[-1])

    @property
    def start_epoch_s(self) -> int:
        return (self.start - date(1970, 1, 1)).days * 86_400

    def epoch_seconds(self, t_days: np.ndarray) -> np.ndarray:
        """Days since start (float) -> whole seconds since 1970, UTC."""
        return self.start_epoch_s + np.floor(np.asarray(t_days) * 86_400).astype(np.int64)

    def to_operational(self, t_days: np.ndarray) -> np.ndarray:
        """Days since start -> operational time S(t)."""
        return np.interp(t_days, np.arange(self.n_days + 1), self.cumulative)

    def from_operational(self, s: np.ndarray) -> np.ndarray:
        """Operational time -> days since start (inverse of to_operational)."""
        return np.interp(s, self.cumulative, np.arange(self.n_days + 1))

    def with_clock(self, t_days: np.ndarray) -> np.ndarray:
        """Move each time within its day by the hourly profile; monotone, so order is preserved."""
        day = np.floor(t_days)
        frac = np.interp(t_days - day, self._clock_cdf, np.linspace(0, 1, 25))
        return day + frac

    def discount(self, t_days: np.ndarray, department: np.ndarray) -> np.ndarray:
        """Promotion discount depth for each (time, department index)."""
        day = np.clip(np.floor(t_days).astype(np.int64), 0, self.n_days - 1)
        return self.depth[day, department]

    def as_dict(self) -> dict:
        return {"yearly_amplitude": self.yearly_amplitude, "yearly_peak_day_of_year": self.yearly_peak_day,
                "weekday_factors_mon_to_sun": (WEEKDAY_FACTORS / WEEKDAY_FACTORS.mean()).round(4).tolist(),
                "hourly_weights_utc": (HOURLY_WEIGHTS / HOURLY_WEIGHTS.sum()).round(4).tolist(),
                "intensity_normalized_to_mean": 1.0,
                "promotions": [p.as_dict() for p in self.promotions]}
