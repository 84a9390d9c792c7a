"""Liveness and readiness probes for load balancers and PaaS health checks."""

import asyncio

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from piccolo.engine.base import Engine

from bandstand.database.errors import describe_connection_error

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
async def readyz(database: NamedDependency[Engine]) -> Response[dict[str, str]]:  # type: ignore[type-arg]
    """The database answers a query; 503 with the reason when it doesn't."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            await database.run_ddl("SELECT 1")
    # Whatever the driver raises (OS, TLS, protocol, timeout), the answer is "not ready".
    except Exception as error:  # noqa: BLE001
        reason = describe_connection_error(error)
        return Response(
            {"status": "unavailable", "reason": f"database unreachable ({reason})"},
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
        )
    return Response({"status": "ready"})


ROUTES = [healthz, readyz]
