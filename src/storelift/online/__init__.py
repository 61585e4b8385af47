"""The online state store of the real-time service: SQLite (WAL) in the workspace, or PostgreSQL."""

from .api_keys import SCOPES, ApiKey
from .consent import PURPOSES, ConsentRecord, CustomerConsent
from .database import ONLINE_FILE, OnlineURL
from .decisions import DecisionRecord
from .erasure import ErasureRequest
from .errors import ApiKeyError, OnlineStoreBusy, OnlineStoreError
from .events import EventRecord, event_from_segment
from .identities import SafeTraits, safe_traits
from .store import OnlineStore
from .sync import SyncReport, sync_to_warehouse
from .writer import EventWriter, WriteResult

__all__ = [
    "ApiKey", "ApiKeyError", "ConsentRecord", "CustomerConsent", "DecisionRecord", "ErasureRequest", "EventRecord",
    "EventWriter", "ONLINE_FILE", "OnlineStore", "OnlineStoreBusy", "OnlineStoreError", "OnlineURL", "PURPOSES",
    "SCOPES", "SafeTraits", "SyncReport", "WriteResult", "event_from_segment", "safe_traits", "sync_to_warehouse",
]
