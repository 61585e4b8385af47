"""Customer records: fake but realistic PII, country, acquisition channel, gender and birth year.

Names come from the small lists in people.py; e-mails carry the customer number so they are
unique; phones use ranges reserved for fiction. Protected attributes (gender, birth year) are
drawn independently of behaviour: no fairness issue is planted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .people import COUNTRIES, EMAIL_DOMAINS, FEMALE_FIRST, LAST, MALE_FIRST, NEUTRAL_FIRST, STREET_NAMES
from .text import hex_ids, join, numbered_ids, pattern_strings
from .touches import CHANNELS

GENDERS = ("female", "male", "non-binary", None)
GENDER_SHARES = (0.51, 0.45, 0.015, 0.025)
PHONE_MISSING_SHARE = 0.12


@dataclass
class CustomerBlock:
    """One block's customer table and the attributes other tables need."""

    table: pa.Table
    ids: pa.Array
    country: np.ndarray  # index into COUNTRIES
    country_codes: pa.Array
    channel: np.ndarray  # acquisition channel, index into CHANNELS
    app_propensity: np.ndarray  # probability an order is placed in the app rather than on the web
    anonymous_ids: pa.Array  # the customer's device id, for events


def _scatter(parts: list[tuple[np.ndarray, pa.Array]], n: int) -> pa.Array:
    """Assemble per-group arrays back into row order (group i holds rows parts[i][0])."""
    positions = np.concatenate([p for p, _ in parts])
    values = pa.concat_arrays([a.cast(pa.string()) for _, a in parts])
    inverse = np.empty(n, dtype=np.int64)
    inverse[positions] = np.arange(n)
    return values.take(pa.array(inverse))


def _pick(rng: np.random.Generator, values, n: int) -> pa.Array:
    return pa.array(list(values), pa.string()).take(pa.array(rng.integers(0, len(values), n)))


def draw_customer_block(rng: np.random.Generator, first_number: int, id_width: int, created_at: pa.Array,
                        start_year: int) -> CustomerBlock:
    """Draw `len(created_at)` customers numbered from `first_number`."""
    n = len(created_at)
    numbers = np.arange(first_number, first_number + n)
    ids = numbered_ids("C", numbers, id_width)
    shares = np.array([c.share for c in COUNTRIES])
    country = np.searchsorted(np.cumsum(shares / shares.sum()), rng.random(n), side="right")
    country = np.minimum(country, len(COUNTRIES) - 1)
    gender = np.searchsorted(np.cumsum(GENDER_SHARES), rng.random(n) * sum(GENDER_SHARES), side="right")
    gender = np.minimum(gender, len(GENDERS) - 1)

    first_lists = (FEMALE_FIRST, MALE_FIRST, FEMALE_FIRST + MALE_FIRST + NEUTRAL_FIRST,
                   FEMALE_FIRST + MALE_FIRST + NEUTRAL_FIRST)
    first = _scatter([(np.flatnonzero(gender == g), _pick(rng, first_lists[g], int((gender == g).sum())))
                      for g in range(len(GENDERS))], n)
    last = _pick(rng, LAST, n)
    f, lst = pc.utf8_lower(first), pc.utf8_lower(last)
    num = pc.cast(pa.array(numbers), pa.string())
    local = pc.choose(pa.array(rng.integers(0, 4, n).astype(np.int8)),
                      join(f, ".", lst, num), join(f, lst, num),
                      join(pc.utf8_slice_codeunits(f, 0, 1), lst, num), join(f, "_", lst, num))
    email = join(local, "@", _pick(rng, EMAIL_DOMAINS, n))

    phone_parts, street_parts, city_parts, region_parts, post_parts = [], [], [], [], []
    for c, profile in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == c)
        k = len(rows)
        if profile.phone_pattern:
            phone_parts.append((rows, pattern_strings(rng, profile.phone_pattern, k)))
        else:
            phone_parts.append((rows, pa.nulls(k, pa.string())))
        house = pc.cast(pa.array(rng.integers(1, 240, k)), pa.string())
        street_parts.append((rows, join(house, " ", _pick(rng, STREET_NAMES, k), " ",
                                        _pick(rng, profile.street_suffixes, k))))
        place = rng.integers(0, len(profile.places), k)
        city_parts.append((rows, pa.array([p[0] for p in profile.places], pa.string()).take(pa.array(place))))
        region_parts.append((rows, pa.array([p[1] for p in profile.places], pa.string()).take(pa.array(place))))
        post_parts.append((rows, pattern_strings(rng, profile.postcode_pattern, k)))
    phone = _scatter(phone_parts, n)
    phone = pc.if_else(pa.array(rng.random(n) < PHONE_MISSING_SHARE), pa.scalar(None, pa.string()), phone)

    acq_shares = np.array([ch.acquisition_share for ch in CHANNELS])
    channel = np.searchsorted(np.cumsum(acq_shares / acq_shares.sum()), rng.random(n), side="right")
    channel = np.minimum(channel, len(CHANNELS) - 1)
    age = np.minimum(18 + rng.gamma(2.2, 9.0, n), 88)
    birth_year = (start_year - np.floor(age)).astype(np.int64)
    country_codes = pa.array([c.code for c in COUNTRIES], pa.string()).take(pa.array(country))
    table = pa.table({
        "customer_id": ids,
        "email": email,
        "phone": phone,
        "first_name": first,
        "last_name": last,
        "street_address": _scatter(street_parts, n),
        "city": _scatter(city_parts, n),
        "postal_code": _scatter(post_parts, n),
        "region": _scatter(region_parts, n),
        "country": country_codes,
        "created_at": created_at,
        "acquisition_channel": pa.array(np.array([ch.name for ch in CHANNELS], dtype=object)[channel], pa.string()),
        "gender": pa.array(np.array(GENDERS, dtype=object)[gender], pa.string()),
        "birth_year": pa.array(birth_year),
    })
    app_propensity = rng.beta(1.2, 2.5, n)
    return CustomerBlock(table, ids, country, country_codes, channel, app_propensity, hex_ids(rng, n, 16))
