"""Errors a person can act on: each message names the field, row or parameter and the fix."""

from __future__ import annotations


class StoreliftError(Exception):
    """Base of every error storelift raises on purpose; the CLI prints it without a traceback."""

    exit_code = 1


class ConfigError(StoreliftError):
    """The workspace or its storelift.toml is missing or wrong."""

    exit_code = 2


class WarehouseError(StoreliftError):
    """The warehouse URL cannot be opened or a table is missing."""

    exit_code = 3


class IngestError(StoreliftError):
    """A source cannot be read at all (as opposed to bad rows, which go to quarantine)."""

    exit_code = 4


class PrivacyError(StoreliftError):
    """The pseudonymization key is missing or unusable."""

    exit_code = 5
