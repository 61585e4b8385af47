"""JSON log lines: one object per line, so log tools can filter by field."""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import datetime, timezone

ACCESS_LOGGER = "storelift.api.access"


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, the record's `fields` and, for errors, the exception text."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class BatchedStreamHandler(logging.Handler):
    """Writes formatted lines to a stream in batches: when `capacity` lines are waiting, `interval_s`
    after the first of them, and at once for a warning or worse (and at shutdown).

    One request line per request, each written and flushed on its own, costs a busy service a
    system call per request; batched, it costs one per batch. A crash loses at most the last
    `interval_s` of request lines, never an error line.
    """

    def __init__(self, stream=None, capacity: int = 512, interval_s: float = 0.25):
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self.capacity = capacity
        self.interval_s = interval_s
        self._lines: list[str] = []
        self._timer: threading.Timer | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._lines.append(line)  # handle() holds the handler's lock around emit
        if record.levelno >= logging.WARNING or len(self._lines) >= self.capacity:
            self._write()
        elif self._timer is None:
            self._timer = threading.Timer(self.interval_s, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        with self.lock:
            self._write()

    def close(self) -> None:
        self.flush()
        super().close()

    def _write(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        text = "\n".join(self._lines) + "\n"
        self._lines.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:
            self.handleError(logging.LogRecord("storelift", logging.ERROR, "", 0, "log write failed", (), None))


def log_config(level: str = "info") -> dict:
    """A logging dictConfig for uvicorn: JSON to stderr, uvicorn's own access log off.

    uvicorn's access log would write client addresses and full paths, which hold customer ids;
    storelift writes its own request line instead (route template, status, latency, key id), in
    batches (`BatchedStreamHandler`).
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
                     "requests": {"class": f"{__name__}.BatchedStreamHandler", "formatter": "json",
                                  "stream": "ext://sys.stderr"}},
        "loggers": {
            "storelift": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            ACCESS_LOGGER: {"handlers": ["requests"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def configure_json_logging(level: str = "info") -> None:
    """Send storelift's logs to stderr as JSON (for running the app outside `storelift serve`)."""
    logger = logging.getLogger("storelift")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level.upper())
