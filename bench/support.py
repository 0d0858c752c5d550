"""What several benchmark scripts share: a fresh PostgreSQL database to measure on, and percentiles."""
from __future__ import annotations

import sys
from urllib.parse import urlparse


def recreate_database(url: str, *, script: str) -> None:
    """Drop and create the PostgreSQL database of `url` (the benchmark measures PostgreSQL: anything else exits)."""
    import psycopg

    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        sys.exit(f"{script} needs DATABASE_URL=postgres://… (it measures PostgreSQL)")
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank value at `fraction` (0.99 for p99) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
