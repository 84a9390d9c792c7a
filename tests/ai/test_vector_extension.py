"""pgvector, which the AI's vector search is to use, on the local PostgreSQL: `.ci/system-deps`
builds it from Debian's source, since Debian 12 packages it for no PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest

pytestmark = pytest.mark.engine_independent


async def test_the_vector_extension_installs_and_orders_by_distance(
    fresh_postgres_url: str,
) -> None:
    connection = await asyncpg.connect(fresh_postgres_url)
    try:
        available = await connection.fetchval(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
        )
        if available is None:
            pytest.skip("pgvector is not installed on the local PostgreSQL: run .ci/system-deps")
        await connection.execute("CREATE EXTENSION vector")
        await connection.execute("CREATE TABLE chunk (id int, embedding vector(3))")
        await connection.execute(
            "INSERT INTO chunk VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0.9,0.1,0]')"
        )
        await connection.execute("CREATE INDEX ON chunk USING hnsw (embedding vector_cosine_ops)")
        nearest = await connection.fetch(
            "SELECT id FROM chunk ORDER BY embedding <=> '[1,0.05,0]' LIMIT 2"
        )
        version = await connection.fetchval(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        )
    finally:
        await connection.close()
    assert [row["id"] for row in nearest] == [1, 3]
    assert version == available == "0.8.0"
