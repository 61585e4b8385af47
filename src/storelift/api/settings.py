"""Settings of the HTTP service, passed to worker processes through the environment as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

from ..errors import ConfigError

WORKSPACE_ENV = "STORELIFT_SERVE_WORKSPACE"
SETTINGS_ENV = "STORELIFT_SERVE_SETTINGS"


@dataclass(frozen=True)
class ServeSettings:
    """Limits and choices of one running service; every worker gets the same."""

    online_url: str | None = None  # None: online.sqlite in the workspace
    max_body_bytes: int = 1_048_576  # larger bodies get 413 before they are read
    max_batch_messages: int = 500  # messages in one POST /v1/events batch
    key_cache_ttl_s: float = 5.0  # a revoked key stops working within this time on every worker
    public_metrics: bool = False  # True: GET /metrics needs no key
    busy_timeout_s: float = 10.0  # how long a write waits for a locked store before 503
    max_future_skew_s: float = 86_400.0  # event timestamps later than now + this are refused
    holdout_share: float = 0.05  # customers held out of every initiative (the popular list, the default variant)
    variant_cap_per_day: int = 3  # decisions per customer and variant placement in 24 hours (0: no cap)
    model_check_s: float = 2.0  # how often a worker looks for newer model versions

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_batch_messages"):
            if getattr(self, name) < 1:
                raise ConfigError(f"serve setting {name} must be at least 1, not {getattr(self, name)}")
        if not 0 <= self.holdout_share < 1:
            raise ConfigError(f"serve setting holdout_share must be in [0, 1), not {self.holdout_share}")
        for name in ("key_cache_ttl_s", "busy_timeout_s", "max_future_skew_s", "variant_cap_per_day", "model_check_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"serve setting {name} must not be negative, not {getattr(self, name)}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ServeSettings":
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{SETTINGS_ENV} is not JSON ({exc}); start the service with `storelift serve`") from exc
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{SETTINGS_ENV} has unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return cls(**raw)

    @classmethod
    def from_environment(cls) -> "ServeSettings":
        text = os.environ.get(SETTINGS_ENV)
        return cls.from_json(text) if text else cls()
