"""Writes through Piccolo Admin's table API, as its pages make them (CSRF header included)."""

from __future__ import annotations

from typing import Any

import httpx


async def admin_write(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    """`path` is below /admin/api/tables/; the client is logged in and has visited /admin/."""
    return await client.request(
        method,
        f"/admin/api/tables/{path}",
        json=body,
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
    )
