"""Errors of the SDK's HTTP layer: each failure becomes the error a caller can act on."""

from __future__ import annotations

import httpx
import pytest

from coreport.client import (
    Client,
    Conflict,
    CoreportError,
    Forbidden,
    Invalid,
    NotFound,
    ServerError,
    ServerUnreachable,
    Unauthorized,
)


def client_answering(handler: httpx.MockTransport | None = None, **kwargs: object) -> Client:
    return Client("http://coreport.test", transport=handler, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, Invalid),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (413, Invalid),
        (422, Invalid),
        (429, ServerError),
        (500, ServerError),
        (503, ServerError),
        (418, CoreportError),
    ],
)
def test_status_codes_map_to_errors(status: int, error: type[CoreportError]) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json={"error": "nope"}))
    with pytest.raises(error) as caught:
        client_answering(transport).get_run("abc")
    assert caught.value.status == status
    assert caught.value.message == "nope"
    assert caught.value.url == "http://coreport.test/api/runs/abc"
    assert type(caught.value) is error


def test_validation_errors_carry_pydantic_locations() -> None:
    detail = [
        {"loc": ["body", "blocks", 0, "heading", "level"], "msg": "too high", "type": "x"},
    ]
    transport = httpx.MockTransport(
        lambda request: httpx.Response(422, json={"error": "invalid request", "detail": detail})
    )
    with pytest.raises(Invalid) as caught:
        client_answering(transport).reports.create("t", "p", [{"type": "heading", "level": 7}])
    assert caught.value.detail == detail
    assert "body.blocks.0.heading.level: too high" in str(caught.value)


def test_an_answer_without_json_keeps_its_text() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(502, text="bad gateway"))
    with pytest.raises(ServerError, match="bad gateway"):
        client_answering(transport).get_run("abc")


def test_connection_refused_is_server_unreachable_with_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ServerUnreachable) as caught:
        client_answering(httpx.MockTransport(refuse)).reports.get("r1")
    assert caught.value.url == "http://coreport.test/api/reports/r1"
    assert "http://coreport.test/api/reports/r1" in str(caught.value)


def test_a_timeout_is_server_unreachable() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ServerUnreachable, match="timed out"):
        client_answering(httpx.MockTransport(hang)).reports.markdown("r1")


def test_the_api_key_is_sent_as_a_bearer_token() -> None:
    seen: list[str | None] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, text="# hi")

    Client("http://x", "cpk_secret", transport=httpx.MockTransport(record)).reports.markdown("r")
    Client("http://x", transport=httpx.MockTransport(record)).reports.markdown("r")
    assert seen == ["Bearer cpk_secret", None]
