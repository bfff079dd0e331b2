"""The SDK's one HTTP connection: JSON requests with the API key, answers turned into
values or into the errors of :mod:`coreport.client.errors` (the one place that does)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from coreport.client.errors import (
    Conflict,
    CoreportError,
    Forbidden,
    Invalid,
    NotFound,
    ServerError,
    ServerUnreachable,
    Unauthorized,
)

_BY_STATUS: dict[int, type[CoreportError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: Invalid,
    415: Invalid,
    422: Invalid,
    429: ServerError,
}


class HttpApi:
    """JSON over HTTP to one coreport server. Thread-safe (httpx.Client is)."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._transport = transport
        headers = {"accept": "application/json", "user-agent": "coreport-sdk"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def copy(self) -> HttpApi:
        """A connection of its own to the same server, with the same key (a run's uploader
        uses one, so it outlives the client that created the run)."""
        return HttpApi(
            self.base_url, self._api_key, timeout=self._timeout, transport=self._transport
        )

    def close(self) -> None:
        # A transport passed in belongs to whoever passed it (copies share it).
        if self._transport is None:
            self._http.close()

    def absolute(self, path_or_url: str) -> str:
        """A server-relative path (``/reports/abc``) as a full URL."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + "/" + path_or_url.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request; the response if it is 2xx, else the matching error."""
        url = self.absolute(path)
        query = {key: value for key, value in (params or {}).items() if value is not None}
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        try:
            response = self._http.request(method, path, json=json, params=query or None, **extra)
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(f"{method} timed out: {exc}", url=url) from exc
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"cannot reach the server: {exc}", url=url) from exc
        if response.is_success:
            return response
        raise error_of(response)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request`, answering the decoded JSON body."""
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise CoreportError(
                f"the server answered {response.status_code} without JSON",
                url=str(response.request.url),
                status=response.status_code,
            ) from exc


def error_of(response: httpx.Response) -> CoreportError:
    """The error for a non-2xx answer, with the server's ``{"error", "detail"}`` body."""
    status = response.status_code
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else CoreportError)
    message = response.reason_phrase or f"HTTP {status}"
    detail: list[dict[str, Any]] = []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            message = body["error"]
        if isinstance(body.get("detail"), list):
            detail = [item for item in body["detail"] if isinstance(item, dict)]
    elif response.text:
        message = response.text[:500]
    return kind(message, url=str(response.request.url), status=status, detail=detail)
