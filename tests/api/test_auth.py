"""API key cache: valid keys are remembered for the TTL, and a revocation is seen once it ends."""

from __future__ import annotations

from storelift.api.auth import KeyCache
from storelift.online import OnlineStore


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lookup_reads_the_store_once_per_ttl_and_sees_a_revocation_after_it(tmp_path):
    with OnlineStore.open(None, tmp_path) as store:
        key, text = store.create_api_key("shop", ["read"])
        clock = Clock()
        cache = KeyCache(store, ttl_s=5.0, clock=clock)
        reads = []
        real_lookup = store.lookup_api_key
        store.lookup_api_key = lambda t: reads.append(t) or real_lookup(t)

        assert cache.cached(text) is None
        assert cache.lookup(text).key_id == key.key_id
        assert cache.lookup(text).key_id == key.key_id
        assert len(reads) == 1  # the second came from the cache

        store.revoke_api_key(key.key_id)
        clock.now = 4.9
        assert cache.lookup(text).revoked_at is None  # inside the TTL: the remembered key
        clock.now = 5.1
        assert cache.lookup(text).revoked_at is not None  # read again: revoked
        assert cache.cached(text) is None  # and a revoked key is not remembered
        assert len(reads) == 2

        assert cache.lookup("not-a-key") is None
