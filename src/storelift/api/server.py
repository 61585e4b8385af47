"""Run the service under uvicorn with N worker processes (what `storelift serve` does)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ConfigError
from ..online import OnlineStore
from ..workspace import Workspace
from .logs import log_config
from .settings import SETTINGS_ENV, WORKSPACE_ENV, ServeSettings

APP_FACTORY = "storelift.api.app:app_from_environment"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def run_server(workspace_path: Path | str, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
               settings: ServeSettings | None = None, log_level: str = "info") -> None:
    """Serve until interrupted. Checks the workspace and the online store first, so a wrong path or URL
    fails here with its reason instead of in every worker."""
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise ConfigError(f"storelift serve needs the serve extra ({exc.name} is missing): "
                          "pip install 'storelift[serve]'") from exc
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}")
    settings = settings or ServeSettings()
    workspace = Workspace.open(workspace_path)
    if not workspace.config.keep_raw_pii:
        workspace.pii_key()  # a missing key fails now, with the fix in the message
    OnlineStore.open(settings.online_url, workspace.root, settings.busy_timeout_s).close()
    os.environ[WORKSPACE_ENV] = str(workspace.root)
    os.environ[SETTINGS_ENV] = settings.to_json()
    metrics_dir = None
    if not os.environ.get(MULTIPROC_ENV):  # the workers' shared metric files, fresh for every start
        metrics_dir = tempfile.mkdtemp(prefix="storelift-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir
    try:
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_config=log_config(log_level),
                    access_log=False, server_header=False, timeout_graceful_shutdown=10)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)
