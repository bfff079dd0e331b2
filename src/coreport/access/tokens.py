"""Secrets and how they are checked: API keys, share-link and embed-link tokens, session
cookies, CSRF tokens. Pure functions over ``secrets``, ``hashlib`` and ``hmac``.

API keys and link tokens are ``<kind>_<8 hex>_<43 characters>``: 256 random bits after a
visible prefix (``cpk_1a2b3c4d``) that names the key in lists and in the store. Only the
SHA-256 of the whole token is stored. A slow password hash would add nothing: the tokens
are random, not chosen by people, so there is no dictionary to try.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_KIND = "cpk"
LINK_KIND = "csl"
#: Embed links have a kind of their own, so a token can be refused as a credential on
#: sight, without a lookup, everywhere but on the embed routes.
EMBED_KIND = "cse"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: ``token`` is shown once; ``prefix`` and ``digest`` are stored."""

    token: str
    prefix: str
    digest: bytes


def issue(kind: str) -> IssuedToken:
    prefix = f"{kind}_{secrets.token_hex(4)}"
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedToken(token, prefix, digest(token))


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def prefix_of(token: str, kind: str) -> str | None:
    """The visible prefix of a well-formed token of ``kind``; ``None`` otherwise."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != kind or len(parts[1]) != 8 or len(parts[2]) < 16:
        return None
    if any(c not in "0123456789abcdef" for c in parts[1]):
        return None
    return f"{parts[0]}_{parts[1]}"


def matches(token: str, stored_digest: bytes) -> bool:
    return hmac.compare_digest(digest(token), stored_digest)


class CookieSigner:
    """Signs browser session ids (HMAC-SHA256) and derives each session's CSRF token."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the signing secret must be at least 16 bytes")
        self._secret = secret

    def new_session(self) -> tuple[str, bytes]:
        """A fresh session: the cookie value and the hash of the id to store."""
        session_id = secrets.token_urlsafe(32)
        return f"{session_id}.{self._sign('session', session_id)}", digest(session_id)

    def session_hash(self, cookie: str) -> bytes | None:
        """The stored hash of the session a cookie names, or ``None`` if it is forged."""
        session_id, dot, signature = cookie.rpartition(".")
        if not dot or not session_id:
            return None
        if not hmac.compare_digest(signature, self._sign("session", session_id)):
            return None
        return digest(session_id)

    def csrf_token(self, session_hash: bytes) -> str:
        """The token a cookie-authenticated write must echo in ``X-CSRF-Token``."""
        return self._sign("csrf", session_hash.hex())

    def _sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._secret, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


class SigninLinks:
    """One-time sign-in tokens held in memory (the embedded default's start-up link)."""

    def __init__(self) -> None:
        self._pending: set[bytes] = set()

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        self._pending.add(digest(token))
        return token

    def consume(self, token: str) -> bool:
        """True once per issued token."""
        found = digest(token)
        if found in self._pending:
            self._pending.discard(found)
            return True
        return False
