"""Concurrent chat streams for `make bench`: N conversations answered at once by the offline
provider, each read as Server-Sent Events by one asyncio client.

Time to first token and tokens per second are per stream; the server's peak RSS is sampled
from /proc while they run.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from typing import Any

import httpx

from bench.processes import rss_megabytes

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _cookie(response: httpx.Response, name: str) -> str:
    # Production cookies are Secure, which a client on plain http won't keep: read the header.
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise SystemExit(f"no {name} cookie from {response.url}")


async def _logged_in(client: httpx.AsyncClient, username: str, password: str) -> None:
    page = await client.get("/login")
    found = CSRF_FIELD.search(page.text)
    assert found
    token, csrf = found.group(1), _cookie(page, "site_csrf")
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": token},
        headers={"cookie": f"site_csrf={csrf}"},
    )
    if response.status_code != 303:
        raise SystemExit(f"the benchmark user cannot log in: {response.status_code}")
    session = _cookie(response, "id")
    client.headers.update({"cookie": f"site_csrf={csrf}; id={session}", "x-site-csrf": token})


def _peak_rss(pid: int, peak: list[float], stop: asyncio.Event) -> asyncio.Task[None]:
    async def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], await asyncio.to_thread(rss_megabytes, pid))
            await asyncio.sleep(0.1)

    return asyncio.create_task(sample())


async def _one_stream(client: httpx.AsyncClient, conversation: int) -> dict[str, float]:
    started = time.perf_counter()
    first = 0.0
    tokens = 0
    event = ""
    async with client.stream(
        "POST",
        f"/api/chat/conversations/{conversation}/messages",
        json={"content": "Tell me about async Python web stacks."},
    ) as response:
        if response.status_code != 200:
            return {"error": 1.0}
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "token":
                tokens += 1
                first = first or time.perf_counter()
            elif line.startswith("data:") and event == "error":
                return {"error": 1.0}
    ended = time.perf_counter()
    if not tokens:
        return {"error": 1.0}
    return {
        "error": 0.0,
        "ttft_ms": (first - started) * 1000,
        "tokens_per_s": tokens / max(ended - first, 1e-9),
    }


async def measure_streams(
    base: str, pid: int, count: int, username: str, password: str
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300) as client:
        await _logged_in(client, username, password)
        conversations = [
            (await client.post("/api/chat/conversations", json={"title": f"bench {n}"})).json()[
                "id"
            ]
            for n in range(count)
        ]
        stop, peak = asyncio.Event(), [0.0]
        sampler = _peak_rss(pid, peak, stop)
        results = await asyncio.gather(*(_one_stream(client, c) for c in conversations))
        stop.set()
        await sampler
    good = [result for result in results if not result["error"]]
    ttft = sorted(result["ttft_ms"] for result in good)
    return {
        "streams": count,
        "errors": len(results) - len(good),
        "ttft_p50_ms": statistics.median(ttft) if ttft else float("nan"),
        "ttft_p99_ms": ttft[min(len(ttft) - 1, int(len(ttft) * 0.99))] if ttft else float("nan"),
        "tokens_per_s_per_stream": (
            statistics.median(result["tokens_per_s"] for result in good) if good else 0.0
        ),
        "peak_rss_mb": peak[0],
    }
