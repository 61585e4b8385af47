"""Fixtures for the attribution tests: a builder of small path tables."""

import pandas as pd
import pytest


def build_paths(journeys):
    """journeys: (channels, converted, revenue) -> the long path table touch_paths returns."""
    rows = []
    for i, (channels, converted, revenue) in enumerate(journeys):
        if not channels:
            rows.append({"path_id": f"p{i}", "is_conversion": converted, "revenue": revenue, "channel": None,
                         "position": None, "touches": 0, "days_before_end": None})
        for k, ch in enumerate(channels):
            rows.append({"path_id": f"p{i}", "is_conversion": converted, "revenue": revenue, "channel": ch,
                         "position": k, "touches": len(channels), "days_before_end": float(len(channels) - k)})
    return pd.DataFrame(rows)


@pytest.fixture
def make_paths():
    return build_paths
