"""Start `storelift serve` as a subprocess and wait until it is healthy (for tests, benchmarks, scripts).

The server runs in its own process group, so `kill()` ends the master and every worker at once,
as a crash or power cut would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import StoreliftError
from .settings import ServeSettings

# ServeSettings field -> `storelift serve` option
SETTING_OPTIONS = {
    "online_url": "--online-url", "max_body_bytes": "--max-body-bytes", "max_batch_messages": "--max-batch",
    "key_cache_ttl_s": "--key-cache-ttl", "public_metrics": "--public-metrics", "busy_timeout_s": "--busy-timeout",
    "max_future_skew_s": "--max-future-skew", "holdout_share": "--holdout-share",
    "variant_cap_per_day": "--variant-cap", "model_check_s": "--model-check",
}


STARTUP_COMPLETE = "Application startup complete."  # what uvicorn logs once a worker's lifespan has run


class ServerStartError(StoreliftError):
    """The server exited or never became healthy; the message holds the end of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def settings_args(settings: ServeSettings) -> list[str]:
    """The command-line options that reproduce `settings` (defaults left out)."""
    default = ServeSettings()
    args: list[str] = []
    for f in fields(ServeSettings):
        value = getattr(settings, f.name)
        if value == getattr(default, f.name):
            continue
        option = SETTING_OPTIONS[f.name]
        args += [option] if isinstance(value, bool) else [option, str(value)]
    return args


@dataclass
class ServerProcess:
    """A running `storelift serve` subprocess."""

    process: subprocess.Popen
    url: str
    log_path: Path
    log_offset: int = 0  # where this run's lines start in the (appended) log

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def health(self, timeout_s: float = 2.0) -> dict | None:
        """The /health answer, or None when the server does not answer 200."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout_s) as response:
                return json.loads(response.read()) if response.status == 200 else None
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_until_healthy(self, timeout_s: float = 60.0, workers: int = 1) -> dict:
        """Wait for a healthy /health and for `workers` workers to have started (one answers /health
        while the others may still be loading models)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(f"storelift serve exited with code {self.process.returncode}:\n"
                                       f"{self.log_tail()}")
            answer = self.health()
            if answer is not None and (workers == 1 or self.workers_started() >= workers):
                return answer
            time.sleep(0.1)
        self.kill()
        raise ServerStartError(f"storelift serve was not healthy after {timeout_s:g} s:\n{self.log_tail()}")

    def workers_started(self) -> int:
        """Workers that finished starting up (loaded their models), from the server's log."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.log_offset)
                return log.read().decode(errors="replace").count(STARTUP_COMPLETE)
        except OSError:
            return 0

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the master and all workers at once (nothing gets to clean up)."""
        self._signal_group(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout_s: float = 15.0) -> None:
        """Shut down gracefully (queued events are committed), killing the group if it takes too long."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)  # workers left behind by a master that died first
        self.process.wait()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(workspace: Path | str, *, host: str = "127.0.0.1", port: int | None = None, workers: int = 1,
                 settings: ServeSettings | None = None, log_path: Path | None = None,
                 env: dict[str, str] | None = None, wait: bool = True, timeout_s: float = 60.0) -> ServerProcess:
    """Run `storelift serve WORKSPACE` in a new process group; by default wait for a healthy /health."""
    port = port or free_port(host)
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="storelift-serve-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    command = [sys.executable, "-m", "storelift.cli_serve", "run", str(workspace), "--host", host,
               "--port", str(port), "--workers", str(workers), *settings_args(settings or ServeSettings())]
    with open(log_path, "ab") as log:
        offset = log.tell()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, **(env or {})}, start_new_session=True)
    server = ServerProcess(process, f"http://{host}:{port}", Path(log_path), offset)
    if wait:
        server.wait_until_healthy(timeout_s, workers)
    return server
