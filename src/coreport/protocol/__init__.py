"""y-protocols framing and coreport's close codes: pure functions, no I/O."""

from coreport.protocol.codes import CloseCode
from coreport.protocol.messages import (
    EMPTY_UPDATE,
    Auth,
    AwarenessEntry,
    AwarenessUpdate,
    Message,
    MessageType,
    ProtocolError,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncType,
    SyncUpdate,
    parse_message,
)

__all__ = [
    "EMPTY_UPDATE",
    "Auth",
    "AwarenessEntry",
    "AwarenessUpdate",
    "CloseCode",
    "Message",
    "MessageType",
    "ProtocolError",
    "QueryAwareness",
    "SyncStep1",
    "SyncStep2",
    "SyncType",
    "SyncUpdate",
    "parse_message",
]
