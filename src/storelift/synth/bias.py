"""An optional planted bias: one protected group's orders are under-recorded (measurement bias).

A share of the group's orders reach the orders table without the customer's id, as when a guest
checkout or a partner channel never links the order to the account. The group buys exactly like
everyone else, but its recorded history looks thinner, so a propensity model trained on that history
scores it lower and a top-X% audience under-selects it. The unlinked orders and their true customers
are saved in ground_truth/unlinked_orders.parquet, so an audit can score decisions against the truth.
Off by default; when on, its draws come from a stream of their own, so nothing else in the store moves.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ATTRIBUTES = ("gender", "age_band")
UNLINKED_SCHEMA = pa.schema([("order_id", pa.string()), ("customer_id", pa.string())])
_BAND = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)|\+)\s*$")


@dataclass(frozen=True)
class PlantedBias:
    """Under-record `unlinked_share` of the orders of customers whose `attribute` is `group`.

    attribute: "gender" (group e.g. "female") or "age_band" (group "LO-HI" or "LO+", age in whole
    years at the start of the window, e.g. "55-64" or "65+").
    """

    group: str = "female"
    attribute: str = "gender"
    unlinked_share: float = 0.7

    def __post_init__(self):
        if self.attribute not in ATTRIBUTES:
            raise ValueError(f"planted bias attribute={self.attribute!r}: use one of {', '.join(ATTRIBUTES)}")
        if not 0 < self.unlinked_share <= 1:
            raise ValueError(f"planted bias unlinked_share={self.unlinked_share!r}: pass a share in (0, 1], e.g. 0.5")
        if self.attribute == "age_band" and not _BAND.match(self.group):
            raise ValueError(f"planted bias group={self.group!r}: an age band looks like '55-64' or '65+'")

    def in_group(self, customers: pa.Table, start_year: int) -> np.ndarray:
        """Per customer row: does the customer belong to the planted group?"""
        if self.attribute == "gender":
            return pc.fill_null(pc.equal(customers["gender"], self.group), False).to_numpy(zero_copy_only=False)
        low, high = _BAND.match(self.group).groups()
        age = start_year - customers["birth_year"].to_numpy(zero_copy_only=False).astype(np.int64)
        return (age >= int(low)) & (age <= (int(high) if high else np.iinfo(np.int64).max))

    def unlinked_orders(self, rng: np.random.Generator, is_in_group: np.ndarray,
                        order_customer: np.ndarray) -> np.ndarray:
        """Per order: is it recorded without its customer? One uniform draw per order from `rng`."""
        draws = rng.random(len(order_customer))
        return is_in_group[order_customer] & (draws < self.unlinked_share)

    def summary(self, customers_in_group: int, group_orders: int, unlinked: int) -> dict:
        """What was planted, for ground_truth/truth.json."""
        return {**asdict(self), "mechanism": "under-recorded orders: a share of the group's orders were stored "
                                             "without the customer id (guest checkout), so the group's recorded "
                                             "history is thinner than its true purchases",
                "customers_in_group": customers_in_group, "group_orders": group_orders, "unlinked_orders": unlinked,
                "truth_file": "ground_truth/unlinked_orders.parquet"}


def without_customer(table: pa.Table, is_unlinked: np.ndarray, column: str = "customer_id") -> pa.Table:
    """`table` with `column` set to null on the rows where is_unlinked is True."""
    index = table.schema.get_field_index(column)
    values = pc.if_else(pa.array(is_unlinked), pa.scalar(None, table.schema.field(column).type), table[column])
    return table.set_column(index, column, values)
