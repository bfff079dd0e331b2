"""Settings, read once at start from ``COREPORT_*`` environment variables (and a ``.env``
file when present) and passed down; nothing else reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COREPORT_", env_file=".env", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, description="Port to listen on (0 picks a free one).")
    data_dir: Path = Field(
        Path("data"), description="Where the embedded default keeps its SQLite file."
    )
    database_url: str | None = Field(
        None, description="postgresql://... to use PostgreSQL instead of the embedded SQLite file."
    )
    database_pool_min: int = Field(1, description="Smallest PostgreSQL pool size.")
    database_pool_max: int = Field(10, description="Largest PostgreSQL pool size.")
    redis_url: str | None = Field(
        None, description="redis://... to fan out between instances through Redis."
    )
    redis_prefix: str = Field("coreport:", description="Prefix of every Redis channel and key.")
    instance_id: str | None = Field(
        None,
        description="This instance's name on the bus (default: host name and a random suffix).",
    )
    max_message_bytes: int = Field(
        16 * 1024 * 1024, description="Largest WebSocket message accepted (close 1009 above it)."
    )
    send_buffer_bytes: int = Field(
        32 * 1024 * 1024,
        description="Bytes queued for one client before it is dropped as not reading (close 4008).",
    )
    room_idle_seconds: float = Field(
        30.0, description="Unload a document this long after its last client left."
    )
    room_rest_seconds: float = Field(
        5.0,
        ge=0,
        description="Keep a loaded document encoded, not live, once it has not changed for "
        "this long (0: never); it is decoded again when next needed.",
    )
    awareness_interval_seconds: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Send a document's cursor and presence changes at most this often: the "
        "first change after a quiet interval at once, those made during one together at its "
        "end, the latest of each client (0: every change at once).",
    )
    compact_every_updates: int = Field(
        500, ge=1, description="Compact a document's log after this many updates..."
    )
    compact_log_ratio: float = Field(
        0.5,
        ge=0,
        description="...once they also hold this fraction of the bytes already in its "
        "snapshot (0: by count alone), so a large document is not rewritten for every few "
        "hundred small edits...",
    )
    compact_max_updates: int = Field(
        2000,
        ge=1,
        description="...but always after this many (loading a document replays its log).",
    )
    compact_max_age_seconds: float = Field(
        300.0, description="Compact a document whose oldest uncompacted update is this old."
    )
    catch_up_seconds: float = Field(
        10.0,
        description=(
            "Ask the store this often which loaded documents moved, and re-read those"
            " (missed bus messages)."
        ),
    )
    version_quiet_seconds: float = Field(
        60.0, description="Take an automatic version once a report's edits pause this long."
    )
    version_active_seconds: float = Field(
        600.0,
        description="...or once a report has been edited this long without such a pause.",
    )
    presence_ttl_seconds: float = Field(
        30.0,
        description="Forget a client of an instance that stopped refreshing it after this long.",
    )
    log_level: str = Field("info", description="Logging level.")
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        "auto",
        description="Event loop: uvloop (faster sockets and scheduling), asyncio's own, or "
        "auto (uvloop when installed, as it is with the package on Linux and macOS).",
    )

    # -- access control and limits (docs/security.md) ------------------------------------
    insecure_no_auth: bool = Field(
        False,
        description="Development only: no sign-in; every request acts as a local admin.",
    )
    secret_key: str | None = Field(
        None,
        description="Signs session cookies (>= 16 characters); default: a random key kept in "
        "the store, shared by every instance.",
    )
    session_days: float = Field(14.0, description="How long a browser session lasts.")
    allowed_origins: str = Field(
        "",
        description="Comma-separated origins (https://app.example.com) allowed to open "
        "WebSockets and send cookie-authenticated writes, besides the server's own.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For (and trusted user header) are believed.",
    )
    trusted_user_header: str | None = Field(
        None,
        description="Header carrying the signed-in user's email or name, set by an "
        "authenticating proxy; honoured only from COREPORT_TRUSTED_PROXIES.",
    )
    access_recheck_seconds: float = Field(
        15.0,
        description="Re-check the access of every open socket this often (changes the bus "
        "did not carry, e.g. from the CLI).",
    )
    embed_frame_ancestors: str = Field(
        "*",
        description="Who may show embed pages (/embed/...) in a frame: CSP frame-ancestors "
        "sources separated by spaces or commas ('self', https://wiki.example.com, "
        "https://*.example.com); '*' anyone, empty nobody. Other pages are never framable.",
    )
    max_document_bytes: int = Field(
        64 * 1024 * 1024,
        description="Largest stored size of one document; an update beyond it is refused "
        "(close 4413) and the document kept.",
    )
    messages_per_second: float = Field(
        200.0, description="Sustained messages per second one socket may send (close 4029 above)."
    )
    message_burst: int = Field(
        1000, description="Messages one socket may send at once above the sustained rate."
    )
    connects_per_minute: int = Field(
        120,
        description="New WebSockets one client address may open per minute (close 4029 above).",
    )
