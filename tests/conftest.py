"""Suite-wide setup. In CI (EVNET_REQUIRE_SERVICES=1) the suite must run against PostgreSQL and Redis: if either
is not configured or does not answer, the run stops with an error instead of skipping or falling back."""
from __future__ import annotations

import gc
import os
import socket
from urllib.parse import urlparse

import pytest

# Fixtures shared by the whole suite that live in their own modules.
pytest_plugins = ["tests.browser", "tests.api.schemathesis_support"]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    from django.conf import settings

    if not getattr(settings, "EVNET_REQUIRE_SERVICES", False):
        return
    db = settings.DATABASES["default"]
    problems = []
    if "postgresql" not in db["ENGINE"]:
        problems.append(f"DATABASE_URL must point at PostgreSQL in CI (engine is {db['ENGINE']})")
    elif not _reachable(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)):
        problems.append(f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} does not answer")
    redis_url = settings.REDIS_URL
    if not redis_url:
        problems.append("REDIS_URL must be set in CI (channel layer and Celery broker)")
    else:
        parsed = urlparse(redis_url)
        if not _reachable(parsed.hostname or "127.0.0.1", parsed.port or 6379):
            problems.append(f"Redis at {redis_url} does not answer")
    if problems:
        pytest.exit("Required services missing: " + "; ".join(problems), returncode=3)


@pytest.fixture
def redis_url(settings) -> str:
    """The Redis URL for tests that need a real Redis. Fails (not skips) in CI when it is missing."""
    if not settings.REDIS_URL:
        if settings.EVNET_REQUIRE_SERVICES:
            pytest.fail("REDIS_URL is not set but this run requires Redis")
        pytest.skip("REDIS_URL not set: this test needs a real Redis (CI runs it)")
    return settings.REDIS_URL


@pytest.fixture(autouse=True)
def _evnet_var_dir(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    os.makedirs(settings.MEDIA_ROOT, exist_ok=True)


@pytest.fixture(autouse=True)
def _fresh_channel_layers():
    """Each test gets channel-layer instances of its own. pytest-asyncio gives every async test a new event loop,
    and a channels_redis layer object is bound to the loop that first received on it (its receive lock and
    connection pools): reusing the process-wide instance across tests makes later receives fail or hang."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _no_connection_outlives_its_test():
    """A test's `sync_to_async` calls run on asgiref's one thread-sensitive thread, which outlives every test: the
    database connection they opened there stayed open for the rest of the run, and PostgreSQL then refused to drop
    the test database ("being accessed by other users"). Close it when the test ends."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=60)


@pytest.fixture(scope="session", autouse=True)
def _ended_threads_release_their_connections(django_db_setup):
    """Before the test database is dropped: a worker thread that ended (an event loop's default executor, a writer's
    thread) leaves its connection inside a DatabaseWrapper, a reference cycle that only the garbage collector
    closes; until then PostgreSQL counts it as a session on the database."""
    yield
    gc.collect()
