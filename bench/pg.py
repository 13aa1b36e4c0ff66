"""Scratch PostgreSQL schemas for benchmark runs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

BENCH_PG = os.environ.get("LEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_schema(tag: str) -> Iterator[tuple[str, str]]:
    """(ledger URL, schema name) of a fresh schema, dropped afterwards."""
    schema = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
    try:
        yield f"{BENCH_PG}?schema={schema}", schema
    finally:
        with psycopg.connect(BENCH_PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def connect() -> psycopg.Connection:
    return psycopg.connect(BENCH_PG, autocommit=True)
