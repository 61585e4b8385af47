"""A workspace: one folder with storelift.toml, the warehouse, models/ and reports/."""

from __future__ import annotations

import os
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .data import pii
from .errors import ConfigError
from .warehouse import Warehouse

CONFIG_NAME = "storelift.toml"


@dataclass
class Config:
    """What storelift.toml says. Unknown keys are kept out; wrong types fail with the key's name."""

    name: str
    workspace_id: str
    warehouse_url: str = "duckdb://warehouse.duckdb"
    keep_raw_pii: bool = False
    key_file: str | None = None
    chunk_rows: int = 100_000
    source_timezone: str = "UTC"
    custom_events: list[str] = field(default_factory=list)

    def to_toml(self) -> str:
        key_line = f'key_file = "{self.key_file}"' if self.key_file else "# key_file = \"...\""
        events = ", ".join(f'"{e}"' for e in self.custom_events)
        return (
            "# storelift workspace configuration\n"
            "[workspace]\n"
            f'name = "{self.name}"\n'
            f'id = "{self.workspace_id}"\n\n'
            "[warehouse]\n"
            "# duckdb://FILE (relative to this folder), pyspark://local[2], postgres://user:pw@host/db\n"
            f'url = "{self.warehouse_url}"\n\n'
            "[privacy]\n"
            "# PII (email, phone, names, street address) is pseudonymized at ingest with a keyed hash.\n"
            "# The key comes from STORELIFT_PII_KEY or key_file, never from the warehouse.\n"
            f"keep_raw_pii = {'true' if self.keep_raw_pii else 'false'}\n"
            f"{key_line}\n\n"
            "[ingest]\n"
            f"chunk_rows = {self.chunk_rows}\n"
            "# time zone of source timestamps that carry none (e.g. Europe/London)\n"
            f'source_timezone = "{self.source_timezone}"\n'
            "# event names accepted beside the Segment e-commerce spec\n"
            f"custom_events = [{events}]\n"
        )

    @classmethod
    def from_toml(cls, text: str, path: Path) -> "Config":
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or run `storelift init` again") from exc

        def get(section: str, key: str, kind, default):
            value = raw.get(section, {}).get(key, default)
            if value is not None and not isinstance(value, kind):
                words = {int: "a whole number", bool: "true or false", str: "a quoted string", list: "a list"}[kind]
                raise ConfigError(f"{path}: [{section}] {key} must be {words}, not {value!r}")
            return value

        ws_id = get("workspace", "id", str, None)
        if not ws_id:
            raise ConfigError(f"{path}: [workspace] id is missing; run `storelift init` to make a workspace")
        chunk = get("ingest", "chunk_rows", int, 100_000)
        if chunk < 1:
            raise ConfigError(f"{path}: [ingest] chunk_rows must be a positive number, not {chunk}")
        return cls(
            name=get("workspace", "name", str, path.parent.name),
            workspace_id=ws_id,
            warehouse_url=get("warehouse", "url", str, "duckdb://warehouse.duckdb"),
            keep_raw_pii=get("privacy", "keep_raw_pii", bool, False),
            key_file=get("privacy", "key_file", str, None),
            chunk_rows=chunk,
            source_timezone=get("ingest", "source_timezone", str, "UTC"),
            custom_events=list(get("ingest", "custom_events", list, [])),
        )


class Workspace:
    """An opened workspace: its config, its warehouse and its folders."""

    def __init__(self, root: Path, config: Config):
        self.root = Path(root)
        self.config = config
        self._warehouse: Warehouse | None = None

    @classmethod
    def init(cls, root: Path | str, warehouse_url: str | None = None, name: str | None = None,
             keep_raw_pii: bool = False) -> "Workspace":
        """Make (or reopen) a workspace folder with its config, key file and empty canonical tables."""
        root = Path(root).resolve()
        config_path = root / CONFIG_NAME
        if config_path.exists():
            ws = cls.open(root)
        else:
            root.mkdir(parents=True, exist_ok=True)
            ws_id = uuid.uuid4().hex
            config = Config(
                name=name or root.name,
                workspace_id=ws_id,
                warehouse_url=warehouse_url or "duckdb://warehouse.duckdb",
                keep_raw_pii=keep_raw_pii,
                key_file=str(pii.default_key_file(ws_id)),
            )
            config_path.write_text(config.to_toml())
            ws = cls(root, config)
        for sub in ("models", "reports", "data"):
            (ws.root / sub).mkdir(exist_ok=True)
        if ws.config.key_file and not os.environ.get(pii.KEY_ENV):
            pii.create_key_file(Path(ws.config.key_file))
        ws.warehouse.ensure_tables()
        return ws

    @classmethod
    def open(cls, root: Path | str) -> "Workspace":
        root = Path(root).resolve()
        config_path = root / CONFIG_NAME
        if not config_path.exists():
            raise ConfigError(f"{root} is not a storelift workspace (no {CONFIG_NAME}); run `storelift init {root}`")
        return cls(root, Config.from_toml(config_path.read_text(), config_path))

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse(self.config.warehouse_url, base_dir=self.root)
            self._warehouse.ensure_tables()
        return self._warehouse

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def ingest_options(self):
        """Ingest settings from storelift.toml, with the pseudonymization key loaded."""
        from .data.ingest import IngestOptions

        c = self.config
        return IngestOptions(
            chunk_rows=c.chunk_rows, source_timezone=c.source_timezone, keep_raw_pii=c.keep_raw_pii,
            pii_key=None if c.keep_raw_pii else self.pii_key(), custom_events=tuple(c.custom_events),
        )

    def pii_key(self) -> bytes:
        return pii.load_key(Path(self.config.key_file) if self.config.key_file else None)

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
