"""Where the tests find PostgreSQL and Redis, and what happens when they are missing.

Locally a missing service skips the tests that need it; under ``CI=true`` it fails them,
so CI can never pass by skipping the Postgres or Redis suites.
"""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = os.environ.get(
    "COREPORT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("COREPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_unavailable(name: str, detail: object) -> None:
    """Skip (locally) or fail (under CI=true) the current test because ``name`` is down."""
    message = f"{name} is not reachable: {detail}"
    if in_ci():
        pytest.fail(message + " (CI=true: a missing service is a failure)")
    pytest.skip(message)
