"""Media response transforms: geometric adstock (carry-over) and Hill saturation (diminishing returns).

Adstock (Broadbent 1979): a_t = x_t + decay * a_{t-1}. Hill: h(a) = a^s / (a^s + k^s), which is half
of its ceiling at the half-saturation point k and concave for shape s <= 1 (Jin et al. 2017).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def geometric_adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    """Spend with geometric carry-over: each day keeps `decay` of the previous day's stock."""
    spend = np.asarray(spend, dtype=float)
    if spend.ndim == 1:
        return lfilter([1.0], [1.0, -decay], spend)
    return lfilter([1.0], [1.0, -decay], spend, axis=0)


def hill(stock: np.ndarray, half_saturation: float, shape: float = 1.0) -> np.ndarray:
    """Saturating response in [0, 1): half its ceiling at `half_saturation`."""
    stock = np.maximum(np.asarray(stock, dtype=float), 0.0)
    ratio = (stock / half_saturation) ** shape
    return ratio / (1.0 + ratio)
