"""JSON log lines, and the batched handler the request log goes through."""

from __future__ import annotations

import io
import json
import logging
import time

from storelift.api.logs import BatchedStreamHandler, JsonFormatter


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_request_lines_are_written_in_order_by_the_timer_and_warnings_at_once():
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, capacity=1000, interval_s=0.2)
    log = _logger("storelift.test.batched", handler)
    for i in range(3):
        log.info("request", extra={"fields": {"n": i}})
    assert stream.getvalue() == ""  # waiting for the batch
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [json.loads(line)["n"] for line in stream.getvalue().splitlines()] == [0, 1, 2]

    log.info("request", extra={"fields": {"n": 3}})
    log.error("broken")  # an error takes the waiting line with it, at once
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line.get("n") for line in lines[3:]] == [3, None] and lines[-1]["level"] == "error"


def test_a_full_batch_is_written_and_close_writes_the_rest():
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, capacity=4, interval_s=60)
    log = _logger("storelift.test.batched-full", handler)
    for i in range(6):
        log.info("request", extra={"fields": {"n": i}})
    assert len(stream.getvalue().splitlines()) == 4
    handler.close()
    assert [json.loads(line)["n"] for line in stream.getvalue().splitlines()] == list(range(6))
