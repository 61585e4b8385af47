"""Errors of the online state store, each with what went wrong and what to do."""

from __future__ import annotations

from ..errors import StoreliftError


class OnlineStoreError(StoreliftError):
    """The online store cannot be opened or written."""

    exit_code = 6


class OnlineStoreBusy(OnlineStoreError):
    """The store stayed locked or unreachable past its timeout; the same request may be retried."""


class ApiKeyError(StoreliftError):
    """An API key is unknown, revoked or malformed, or a key command got a wrong argument."""

    exit_code = 7
