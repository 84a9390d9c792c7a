"""Schemathesis's engine (what `st run` does: coverage, fuzzing and stateful phases) run
in-process against the app's own OpenAPI schema, with every response the app sends counted.

Which checks run, and why each left-out or narrowed one is so, is in `SETTINGS` and
`schema_valid_data_is_accepted`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.checks import CheckContext
from schemathesis.core.transport import Response
from schemathesis.engine import Status, events, from_schema
from schemathesis.generation.case import Case
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

# The site answers only the host names in ALLOWED_HOSTS; schemathesis's in-process client
# calls itself "testserver".
HOST = {"host": "localhost"}
SEED = 20261126
# Per operation, in the fuzzing phase; the coverage phase adds its own boundary and negative
# cases, the stateful phase its chains (create, then read, update, delete what was created).
MAX_EXAMPLES = 100
# Checks whose failures mean the answer disagrees with the schema.
SCHEMA_CHECKS = frozenset(
    {
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    }
)

SETTINGS: dict[str, Any] = {
    "seed": SEED,
    "request-timeout": 10,
    # A reply streams ~40 events; read it to its `done` event, which the schema describes.
    "max-stream-events": 200,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
    "checks": {
        # Litestar 2 answers OPTIONS with an Allow header that lists only some of a path's
        # methods (litestar-org/litestar#4169, fixed in Litestar 3). Its 405 answers list them
        # all, and `unsupported_method` checks those.
        "allow_header_conformance": {"enabled": False},
        # Replaced by `schema_valid_data_is_accepted`, below.
        "positive_data_acceptance": {"enabled": False},
    },
}

# Refusals of schema-valid requests that are right: rules no OpenAPI schema can state.
# Each is a (field, message) the app answers with, and why the schema can't say it.
BUSINESS_RULES = {
    ("band_id", "Choose one of the bands."): "which bands exist is data",
}
# Schemathesis makes "multiples of 0.01" in binary floating point (57 * 0.01 is
# 0.5700000000000001); the app reads a JSON number's decimal text, which has more places.
FLOAT_PRICE = ("price", "Use at most two decimal places.")


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, dict):
        return any(_holds_nul(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _refusal_messages(response: Response) -> list[str]:
    """The messages in a 400: Litestar's `detail`, or its `extra` messages when it has them."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return []
    extra = [item.get("message") for item in body.get("extra") or () if isinstance(item, dict)]
    texts = extra or [body.get("detail")]
    return [text for text in texts if isinstance(text, str)]


def _is_business_rule(message: str, body: dict[str, Any]) -> bool:
    field, _, rule = message.partition(": ")
    if (field, rule) in BUSINESS_RULES:
        return True
    if (field, rule) == FLOAT_PRICE:
        return isinstance(body.get("price"), float)
    # PostgreSQL cannot store NUL in text, so the app refuses it on both engines.
    return "NUL" in message and _holds_nul(body)


@schemathesis.check
def schema_valid_data_is_accepted(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """`positive_data_acceptance`, except for the refusals in BUSINESS_RULES, a float price the
    generator could not make exact, and text holding NUL: any other refusal still fails."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:
        if response.status_code != 400:
            raise
        refused = _refusal_messages(response)
        body = case.body if isinstance(case.body, dict) else {}
        if not refused or not all(_is_business_rule(message, body) for message in refused):
            raise
        return None


class CountingApp:
    """Wraps the ASGI app: counts every response it starts, by status."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.statuses: Counter[int] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1
            await send(message)

        await self.app(scope, receive, counted)


@dataclass
class Outcome:
    operations: int = 0
    tested: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    # Each failure once: "<operation> <check>: <title> -> <status> <body>\n<curl>".
    failures: dict[tuple[str, str, int], str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def failed(self, checks: frozenset[str] | None = None) -> dict[tuple[str, str, int], str]:
        return {
            key: text for key, text in self.failures.items() if checks is None or key[1] in checks
        }


def fuzz(app: CountingApp, headers: dict[str, str]) -> Outcome:
    """Every operation of the schema the app serves, sent with `headers` (a session cookie and
    the CSRF header, or none); the outcome of every check."""
    config = schemathesis.Config.from_dict({**SETTINGS, "headers": {**HOST, **headers}})
    schema = schemathesis.openapi.from_asgi(
        "/schema/openapi.json", app, config=config, headers=HOST
    )
    outcome = Outcome(operations=sum(1 for _ in schema.get_all_operations()))
    before = app.statuses.copy()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _record_scenario(event, outcome)
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished):
            outcome.errors += [f"{failure.title}: {failure.message}" for failure in event.failures]
    outcome.statuses = app.statuses - before
    return outcome


def _record_scenario(event: events.ScenarioFinished, outcome: Outcome) -> None:
    if event.label and event.status != Status.SKIP:
        outcome.tested.add(event.label)
    if event.status == Status.ERROR:
        outcome.errors.append(f"{event.label}: error in the {event.phase.value} phase")
    for case_id, nodes in event.recorder.checks.items():
        for node in nodes:
            info = node.failure_info
            if info is None:
                continue
            interaction = event.recorder.interactions.get(case_id)
            response = interaction.response if interaction else None
            status = response.status_code if response else 0
            operation = info.failure.operation or event.label or "?"
            key = (operation, node.name, status)
            body = response.content[:300].decode(errors="replace") if response else ""
            outcome.failures.setdefault(
                key,
                f"{operation} {node.name}: {info.failure.title} -> {status} {body}\n"
                f"{info.failure.message}\n{info.code_sample}",
            )


def stop_the_app() -> None:
    """Ends the lifespans schemathesis started (its event loop thread outlives them), so the
    database pool closes before other tests start their own."""
    asgi.shutdown_lifespans()
