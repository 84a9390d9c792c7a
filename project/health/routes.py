"""Liveness and readiness probes for load balancers and PaaS health checks."""

import asyncio

from litestar import Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from piccolo.engine.finder import engine_finder

from project.database.errors import describe_connection_error

READINESS_TIMEOUT_SECONDS = 5.0


@get("/healthz", sync_to_thread=False, tags=["health"], exclude_from_csrf=True)
def healthz() -> dict[str, str]:
    """The process is up and serving; says nothing about the database."""
    return {"status": "ok"}


@get(
    "/readyz",
    tags=["health"],
    exclude_from_csrf=True,
    responses={
        HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
            dict[str, str],
            description='{"status": "unavailable", "reason": …}',
            generate_examples=False,
        )
    },
)
async def readyz() -> Response[dict[str, str]]:
    """The database answers a query; 503 with the reason when it doesn't."""
    engine = engine_finder()
    assert engine is not None
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            await engine.run_ddl("SELECT 1")
    # Whatever the driver raises (OS, TLS, protocol, timeout), the answer is "not ready".
    except Exception as error:  # noqa: BLE001
        reason = describe_connection_error(error)
        return Response(
            {"status": "unavailable", "reason": f"database unreachable ({reason})"},
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
        )
    return Response({"status": "ready"})


ROUTES = [healthz, readyz]
