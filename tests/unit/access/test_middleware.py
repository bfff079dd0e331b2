"""The access middleware's settings, client addresses and origins (without a server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.requests import HTTPConnection

from coreport.access.limits import AddressLimiter
from coreport.access.service import AccessService
from coreport.settings import Settings
from coreport.web.auth import AccessMiddleware, AuthConfig, is_secure


def connection(peer: str, headers: dict[str, str]) -> HTTPConnection:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (peer, 40000),
        "scheme": "http",
    }
    return HTTPConnection(scope)


def middleware(config: AuthConfig, access: AccessService) -> AccessMiddleware:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    return AccessMiddleware(
        app, access=access, config=config, connects=AddressLimiter(10, lambda: 0.0)
    )


def test_settings_parse(tmp_path: Path) -> None:
    config = AuthConfig.from_settings(
        Settings(
            data_dir=tmp_path,
            allowed_origins="https://App.example.com/, http://localhost:5173",
            trusted_proxies="10.0.0.0/8, 127.0.0.1",
            trusted_user_header="X-Forwarded-Email",
        )
    )
    assert config.enabled
    assert config.allowed_origins == {"https://app.example.com", "http://localhost:5173"}
    assert config.trusted_user_header == "x-forwarded-email"
    assert config.trusts("10.1.2.3")
    assert config.trusts("127.0.0.1")
    assert not config.trusts("192.168.0.1")
    assert not config.trusts("not-an-address")
    assert not config.trusts(None)
    assert not AuthConfig.from_settings(Settings(data_dir=tmp_path, insecure_no_auth=True)).enabled


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"trusted_proxies": "10.0.0.0/33"}, "TRUSTED_PROXIES"),
        ({"allowed_origins": "app.example.com"}, "ALLOWED_ORIGINS"),
        ({"trusted_user_header": "X-User"}, "TRUSTED_PROXIES"),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AuthConfig.from_settings(Settings(data_dir=tmp_path, **overrides))


def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    access: AccessService,
) -> None:
    guard = middleware(
        AuthConfig(
            trusted_proxies=AuthConfig.from_settings(
                Settings(trusted_proxies="10.0.0.0/8")
            ).trusted_proxies
        ),
        access,
    )
    forwarded = {"x-forwarded-for": "6.6.6.6, 1.2.3.4, 10.0.0.7"}
    # Through two trusted hops: the first untrusted address from the right.
    assert guard._client_address(connection("10.0.0.1", forwarded)) == "1.2.3.4"
    # From anywhere else the header is a lie anyone can tell.
    assert guard._client_address(connection("1.2.3.4", forwarded)) == "1.2.3.4"
    assert guard._client_address(connection("10.0.0.1", {})) == "10.0.0.1"


def test_same_origin_and_allow_list(access: AccessService) -> None:
    config = AuthConfig(
        allowed_origins=frozenset({"https://app.example.com"}),
        trusted_proxies=AuthConfig.from_settings(
            Settings(trusted_proxies="10.0.0.1")
        ).trusted_proxies,
    )
    guard = middleware(config, access)
    direct = connection("1.2.3.4", {"host": "reports.example.com:8443"})
    assert guard._origin_allowed(direct, "https://reports.example.com:8443")
    assert guard._origin_allowed(direct, "https://APP.example.com/")
    assert not guard._origin_allowed(direct, "https://reports.example.com")
    assert not guard._origin_allowed(direct, "https://evil.example")
    assert not guard._origin_allowed(direct, "null")
    proxied = connection(
        "10.0.0.1", {"host": "backend:8000", "x-forwarded-host": "reports.example.com"}
    )
    assert guard._origin_allowed(proxied, "https://reports.example.com")
    spoofed = connection("1.2.3.4", {"host": "backend:8000", "x-forwarded-host": "evil.example"})
    assert not guard._origin_allowed(spoofed, "https://evil.example")


def test_secure_cookies_over_https_only() -> None:
    config = AuthConfig.from_settings(Settings(trusted_proxies="10.0.0.1"))
    assert is_secure({"scheme": "https", "client": ("1.2.3.4", 1), "headers": []}, config)
    assert not is_secure({"scheme": "http", "client": ("1.2.3.4", 1), "headers": []}, config)
    behind = [(b"x-forwarded-proto", b"https")]
    assert is_secure({"scheme": "http", "client": ("10.0.0.1", 1), "headers": behind}, config)
    assert not is_secure({"scheme": "http", "client": ("1.2.3.4", 1), "headers": behind}, config)
