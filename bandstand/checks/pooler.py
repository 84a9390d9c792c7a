"""Is a transaction-mode pooler (PgBouncer, Supavisor, a PaaS proxy) between us and PostgreSQL?

Only positive evidence counts. On a direct connection a client connection is one server
process for its whole life, and two client connections are never the same process. A
transaction-mode pooler hands each transaction to whichever server connection is free: an idle
PgBouncer gives the most recently used one to the next client (two clients share a process),
a round-robin or busy one gives a client a different process from one statement to the next.
The probe's order (first, first, second, first, second) shows either. A session-mode pooler
keeps a server connection per client, like a direct connection, and is safe for prepared
statements; it is only noticed by the process id not matching the one announced at connect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from bandstand.database.errors import describe_connection_error

BACKEND_PID = "SELECT pg_backend_pid()"
PROBE_ORDER = (0, 0, 1, 0, 1)


@dataclass(frozen=True)
class PoolerProbe:
    transaction_pooler: bool | None
    """None when the probe could not finish (a statement timed out or failed)."""
    evidence: str


async def probe_transaction_pooler(connections: Sequence[Any], *, seconds: float) -> PoolerProbe:
    """Run the probe on two open asyncpg connections (with the statement cache off)."""
    served: list[list[int]] = [[] for _ in connections]
    for index in PROBE_ORDER:
        try:
            # Bounded: a pooler whose server connections are all busy queues the statement.
            pid = await connections[index].fetchval(BACKEND_PID, timeout=seconds)
        except TimeoutError:
            return PoolerProbe(
                None,
                f"a statement got no answer within {seconds:g} s: a pooler with no free "
                "server connection queues it",
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            return PoolerProbe(None, describe_connection_error(error))
        served[index].append(int(pid))

    first, second = served[0], served[1]
    shared = sorted(set(first) & set(second))
    if shared:
        return PoolerProbe(
            True, f"two client connections were served by one server process, pid {shared[0]}"
        )
    for pids in served:
        if len(set(pids)) > 1:
            return PoolerProbe(
                True,
                "one client connection was served by server processes "
                f"{', '.join(str(pid) for pid in dict.fromkeys(pids))} in turn",
            )
    evidence = "each client connection kept its own server process"
    announced = [connection.get_server_pid() for connection in connections]
    if announced != [first[0], second[0]]:
        evidence += (
            ", through a proxy or a session-mode pooler (the process is not the one announced "
            "at connect)"
        )
    return PoolerProbe(False, evidence)
