"""Transactions: nested ones, savepoints, atomic, rollback on an exception, explicit commit and
rollback, and queries outside a transaction while it is open.

Nesting is where Bandstand's SQLite engine differed (issue 24): a transaction inside a
transaction failed as the inner one ended, with "'WriteSafeTransaction' object has no attribute
'connection'"."""

from __future__ import annotations

import asyncio

from piccolo.engine.exceptions import TransactionError

from tests.conformance.data import seed
from tests.conformance.harness import AnyEngine, Backend, attempt, same_on_both
from tests.support.tables import Band, Manager


class Rollback(Exception):
    pass


async def names() -> list[str]:
    return [str(row["name"]) for row in await Manager.select(Manager.name).order_by(Manager.id)]


async def test_nested_transactions(backend: Backend) -> None:
    """Piccolo's own tests/engine/test_nested_transaction.py, and what each step left."""

    async def scenario(engine: AnyEngine) -> object:
        steps: dict[str, object] = {}
        try:
            async with engine.transaction():
                await Manager.insert(Manager(name="Bob"))
                async with engine.transaction(allow_nested=False):
                    pass
        except TransactionError:
            steps["not allowed"] = "TransactionError"
        steps["after refused nesting"] = await names()
        async with engine.transaction() as outer:
            async with engine.transaction() as inner:
                steps["inner is outer"] = inner is outer
                await Manager.insert(Manager(name="Carol"))
            await Manager.insert(Manager(name="Dan"))
        steps["after nesting"] = await names()
        async with engine.transaction(), engine.transaction() as transaction:
            await Manager.insert(Manager(name="Dave"))
            await transaction.rollback()
        steps["after inner rollback"] = await names()
        try:
            async with engine.transaction():
                await Manager.insert(Manager(name="Eve"))
                async with engine.transaction():
                    await Manager.insert(Manager(name="Frank"))
                    raise Rollback
        except Rollback:
            pass
        steps["after inner exception"] = await names()
        return steps

    steps = await same_on_both(backend, scenario)
    assert steps["after nesting"] == ["Carol", "Dan"]


async def test_savepoints(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        async with engine.transaction() as transaction:
            await Manager.insert(Manager(name="a"))
            first = await transaction.savepoint()
            await Manager.insert(Manager(name="b"))
            await first.rollback_to()
            await Manager.insert(Manager(name="c"))
            named = await transaction.savepoint("named")
            await Manager.insert(Manager(name="d"))
            await named.release()
            again = await transaction.savepoint("again")
            await Manager.insert(Manager(name="e"))
            await transaction.rollback_to("again")
            await again.release()
            inside = await names()
        return {"inside": inside, "after": await names()}

    result = await same_on_both(backend, scenario)
    assert result["after"] == ["a", "c", "d"]


async def test_atomic(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        await seed()
        atomic = engine.atomic()
        atomic.add(
            Manager.insert(Manager(name="Ada")),
            Band.update({Band.popularity: 1}).where(Band.name == "Gophers"),
        )
        await atomic.run()
        failing = engine.atomic()
        failing.add(
            Manager.insert(Manager(name="Grace")),
            Band.insert(Band(name="Gophers")),  # the name is taken
        )
        return {
            "failed": await attempt(failing.run()),
            "managers": await names(),
            "gophers": await Band.select(Band.popularity).where(Band.name == "Gophers"),
        }

    result = await same_on_both(backend, scenario)
    assert "Ada" in result["managers"]
    assert "Grace" not in result["managers"]


async def test_commit_rollback_and_exceptions(backend: Backend) -> None:
    async def scenario(engine: AnyEngine) -> object:
        steps: dict[str, object] = {}
        try:
            async with engine.transaction():
                await Manager.insert(Manager(name="raised"))
                raise Rollback
        except Rollback:
            steps["exception propagated"] = True
        steps["after exception"] = await names()
        async with engine.transaction() as transaction:
            await Manager.insert(Manager(name="committed"))
            await transaction.commit()
        steps["after commit"] = await names()
        async with engine.transaction() as transaction:
            await Manager.insert(Manager(name="rolled back"))
            await transaction.rollback()
        steps["after rollback"] = await names()
        steps["failed statement"] = await attempt(_duplicate_in_a_transaction(engine))
        steps["after failed statement"] = await names()
        return steps

    steps = await same_on_both(backend, scenario)
    assert steps["after rollback"] == ["committed"]


async def _duplicate_in_a_transaction(engine: AnyEngine) -> None:
    async with engine.transaction():
        await Band.insert(Band(name="One"))
        await Band.insert(Band(name="One"))


async def test_queries_outside_an_open_transaction(backend: Backend) -> None:
    """A transaction holds its rows back from queries outside it, which run meanwhile — reads
    at once, writes (on SQLite: once the transaction's write lock is free) — and see them after
    it commits."""

    async def scenario(engine: AnyEngine) -> object:
        await seed()
        started, reads_done = asyncio.Event(), asyncio.Event()
        steps: dict[str, object] = {}

        async def in_transaction() -> None:
            async with engine.transaction():
                await Manager.insert(Manager(name="inside"))
                await Band.update({Band.popularity: 0}).where(Band.name == "Gophers")
                steps["inside"] = await names()
                started.set()
                await reads_done.wait()

        async def outside() -> None:
            await started.wait()
            reads = await asyncio.gather(
                names(),
                Manager.count(),
                Band.select(Band.popularity).where(Band.name == "Gophers").first(),
                Manager.exists().where(Manager.name == "inside"),
            )
            steps["outside, meanwhile"] = reads
            writing = asyncio.ensure_future(Manager.insert(Manager(name="outside")))
            reads_done.set()
            await writing

        await asyncio.gather(in_transaction(), outside())
        steps["after"] = sorted(await names())
        steps["gophers after"] = await Band.select(Band.popularity).where(Band.name == "Gophers")
        return steps

    steps = await same_on_both(backend, scenario)
    assert "inside" not in steps["outside, meanwhile"][0]
    assert "inside" in steps["after"]
    assert "outside" in steps["after"]
