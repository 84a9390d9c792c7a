"""Run Piccolo's test suite on the stock engines and on Bandstand's, and compare (see __init__).

    .venv/bin/python -m tests.conformance.piccolo_suite.run [--bandstand-rev HEAD] [--setups ab]

Exit status: 0 stock and ours agree; 1 they differ, and (unless --no-rerun) the difference came
back when the test ran again alone; 2 a setup left no junit file.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conformance.piccolo_suite import report, services
from tests.conformance.piccolo_suite.setups import (
    CONFS_PACKAGE,
    PAIRS,
    SETUPS,
    Setup,
    build_tree,
    other_exact_type_checks,
    patch_base,
)

REPOSITORY = Path(__file__).resolve().parents[3]
WORK = REPOSITORY / ".piccolo-suite"  # git-ignored; a dot folder, which mypy doesn't walk into


@dataclass(frozen=True)
class Options:
    setups: str  # keys of SETUPS, in order
    piccolo: Path  # Piccolo's source tree, with its complete tests/
    out: Path
    bandstand: Path  # put on PYTHONPATH: the repository, or a snapshot of one commit
    python: str
    server: services.Server
    database: str
    pgbouncer: str
    pgbouncer_pool_size: int
    timeout: int
    run_timeout: int
    integration: bool
    patch: bool
    keep: bool
    force: bool
    pytest_args: list[str]
    rerun: bool  # run the tests that differ again, alone
    report_only: bool  # no runs: the summary from OUT's junit files


def pytest_command(options: Options, junit: Path, node_ids: list[str] | None) -> list[str]:
    command = [options.python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE"]
    command += [f"--timeout={options.timeout}", f"--junitxml={junit}", "-o", "junit_logging=no"]
    if not options.integration:
        command += ["-m", "not integration"]  # as Piccolo's scripts/test-*.sh
    return command + (node_ids or ["tests"]) + options.pytest_args


def run_setup(
    options: Options, setup: Setup, *, tag: str = "", node_ids: list[str] | None = None
) -> Path:
    """Run the suite (or `node_ids`) for `setup` in a new work tree, on a new database; return
    the junit file."""
    name = setup.name + tag
    tree = options.out / "work" / name
    build_tree(options.piccolo, tree, patch=options.patch)
    junit = options.out / "junit" / f"{name}.xml"
    log = options.out / "logs" / f"{name}.log"
    for path in (junit, log):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
    env = {
        variable: value
        for variable, value in os.environ.items()
        if not variable.startswith("PICCOLO_SUITE_") and variable != "DATABASE_URL"
    }
    env |= {
        "PYTHONPATH": str(options.bandstand),
        "PICCOLO_CONF": f"{CONFS_PACKAGE}.{setup.conf}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if setup.statement_cache_size is not None:
        env["PICCOLO_SUITE_STATEMENT_CACHE_SIZE"] = str(setup.statement_cache_size)

    with contextlib.ExitStack() as stack:
        if setup.database == "sqlite":
            env["PICCOLO_SUITE_SQLITE_PATH"] = str(tree / "test.sqlite")
        else:
            # The same name for every setup, one after the other: Piccolo's tests hard-code
            # `table_catalog = 'piccolo'` (tests/base.py, tests/table/test_alter.py).
            database = stack.enter_context(
                services.throwaway_database(
                    options.server, options.database, force=options.force, keep=options.keep
                )
            )
            port = None
            if setup.database == "pgbouncer":
                bouncer_log = options.out / "logs" / f"{name}.pgbouncer.log"
                port = stack.enter_context(
                    services.pgbouncer(
                        options.server, options.pgbouncer, options.pgbouncer_pool_size, bouncer_log
                    )
                )
            url = options.server.url(database, port=port, query=setup.url_query)
            env["PICCOLO_SUITE_DATABASE_URL"] = url
        command = pytest_command(options, junit, node_ids)
        print(f"== {name}: {setup.description}", flush=True)
        print(f"   (cd {tree} && {' '.join(command)})", flush=True)
        started = time.monotonic()
        with log.open("w") as output:
            try:
                subprocess.run(
                    command,
                    cwd=tree,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    timeout=options.run_timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                output.write(f"\n!! piccolo-suite: over {options.run_timeout}s, stopped\n")
        print(f"   {time.monotonic() - started:.0f}s; {log}", flush=True)
    if not options.keep:
        shutil.rmtree(tree, ignore_errors=True)
    return junit


_PROBE = """
import importlib.metadata as m, importlib.util as u, sqlite3, sys
try:
    engines = u.find_spec("bandstand.database.engine").origin
except (AttributeError, ModuleNotFoundError):
    engines = "-"
versions = [m.version(name) for name in ("piccolo", "asyncpg", "aiosqlite")]
print(*versions, sqlite3.sqlite_version, sys.version.split()[0], engines)
"""


def environment(options: Options) -> dict[str, str]:
    """What the runs ran on, for the summary; stops if Bandstand's engines aren't importable."""
    probe = subprocess.run(
        [options.python, "-c", _PROBE],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
        env={**os.environ, "PYTHONPATH": str(options.bandstand)},
    ).stdout.split()
    piccolo, asyncpg, aiosqlite, sqlite, python, engines = probe
    if engines == "-":
        raise SystemExit(f"bandstand.database.engine is not importable from {options.bandstand}")
    init = options.piccolo / "piccolo" / "__init__.py"
    found = re.search(r'__VERSION__\s*=\s*"([^"]+)"', init.read_text()) if init.is_file() else None
    tree_version = found[1] if found else "unknown"
    if tree_version != piccolo:
        print(f"WARNING: the tests are Piccolo {tree_version}'s, Piccolo {piccolo} is installed")
    info = {
        "piccolo installed (run)": piccolo,
        "piccolo tests": f"{options.piccolo} (version {tree_version})",
        "python / asyncpg / aiosqlite / SQLite": f"{python} / {asyncpg} / {aiosqlite} / {sqlite}",
        "bandstand": f"{options.bandstand} ({revision(options.bandstand)}); engines {engines}",
    }
    with contextlib.suppress(RuntimeError, OSError):
        info["postgresql"] = services.psql(options.server, "SHOW server_version")
    with contextlib.suppress(OSError, IndexError):
        version = subprocess.run(
            [options.pgbouncer, "--version"], capture_output=True, text=True, check=False
        )
        info["pgbouncer"] = version.stdout.splitlines()[0]
    info["pytest"] = " ".join(pytest_command(options, Path("<setup>.xml"), None)[1:])
    checks = other_exact_type_checks(options.piccolo / "tests")
    info["other exact engine-type checks in the tests (not patched)"] = "; ".join(checks) or "none"
    return info


def revision(path: Path) -> str:
    if (path / "COMMIT").is_file():
        return f"snapshot of {(path / 'COMMIT').read_text().strip()}"
    git = ["git", "--no-optional-locks", "-C", str(path)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if head.returncode != 0:
        return "not a git checkout"
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    return head.stdout.strip() + (f", {len(changed)} files changed" if changed else ", clean")


def snapshot(repository: Path, rev: str, out: Path) -> Path:
    """The files of commit `rev` (git archive) in OUT: the runs don't see the working tree."""
    git = ["git", "--no-optional-locks", "-C", str(repository)]
    commit = subprocess.run(
        [*git, "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    destination = out / f"bandstand-{commit[:12]}"
    if not (destination / "COMMIT").is_file():
        shutil.rmtree(destination, ignore_errors=True)
        destination.mkdir(parents=True)
        archive = subprocess.Popen([*git, "archive", commit], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(destination)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise SystemExit(f"git archive {commit} failed")
        (destination / "COMMIT").write_text(commit + "\n")
    return destination


def write_patch_record(options: Options) -> None:
    """OUT/base-engine-type.patch: the change made to the copies of tests/base.py."""
    original = (options.piccolo / "tests" / "base.py").read_text()
    diff = difflib.unified_diff(
        original.splitlines(True),
        patch_base(original).splitlines(True),
        "a/tests/base.py",
        "b/tests/base.py",
    )
    (options.out / "base-engine-type.patch").write_text("".join(diff))


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add(
        "--piccolo", type=Path, default=WORK / "piccolo", help="Piccolo's source tree (%(default)s)"
    )
    add("--out", type=Path, default=WORK / "results", help="results (%(default)s)")
    add("--setups", default="abcdefg", help="setup letters (%(default)s)")
    add("--bandstand", type=Path, default=REPOSITORY, help="Bandstand's repository")
    add("--bandstand-rev", help="run this commit of --bandstand (git archive into OUT)")
    add("--python", default=sys.executable, help="runs pytest; has Bandstand's dev dependencies")
    add("--pg-host", default="localhost", help="localhost: tests/apps/sql_shell expect it")
    add("--pg-port", type=int, default=5432)
    add("--pg-user", default="postgres")
    add("--pg-database", default="piccolo", help="made and dropped per setup; tests expect piccolo")
    add("--force", action="store_true", help="drop an existing --pg-database not made by this")
    add("--pgbouncer", default=shutil.which("pgbouncer") or "/usr/sbin/pgbouncer")
    add("--pgbouncer-pool-size", type=int, default=5)
    add("--timeout", type=int, default=120, help="seconds per test")
    add("--run-timeout", type=int, default=3600, help="seconds per setup")
    add("--no-rerun", action="store_true", help="don't run differing tests again")
    add("--integration", action="store_true", help="also tests marked integration")
    add("--no-patch", action="store_true", help="leave tests/base.py as it is")
    add("--keep", action="store_true", help="keep the work trees and the last database")
    add("--report-only", action="store_true", help="only rebuild the summary from OUT/junit")
    add("pytest_args", nargs="*", help="after --: more pytest arguments")
    args = parser.parse_args(argv)
    piccolo, out = args.piccolo.resolve(), args.out.resolve()
    if not (piccolo / "tests" / "base.py").is_file():
        parser.error(f"{piccolo}/tests/base.py not found: see prepare-checkout.sh")
    if unknown := set(args.setups) - set(SETUPS) - {","}:
        parser.error(f"no setup {''.join(sorted(unknown))}")
    out.mkdir(parents=True, exist_ok=True)
    bandstand = args.bandstand.resolve()
    if args.bandstand_rev:
        bandstand = snapshot(bandstand, args.bandstand_rev, out)
    return Options(
        setups="".join(key for key in SETUPS if key in args.setups),
        piccolo=piccolo,
        out=out,
        bandstand=bandstand,
        python=args.python,
        server=services.Server(args.pg_host, args.pg_port, args.pg_user),
        database=args.pg_database,
        pgbouncer=args.pgbouncer,
        pgbouncer_pool_size=args.pgbouncer_pool_size,
        timeout=args.timeout,
        run_timeout=args.run_timeout,
        integration=args.integration,
        patch=not args.no_patch,
        keep=args.keep,
        force=args.force,
        pytest_args=args.pytest_args,
        rerun=not args.no_rerun,
        report_only=args.report_only,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    info = environment(options)
    if options.patch:
        write_patch_record(options)

    runs: dict[str, report.Run] = {}
    for key in options.setups:
        junit = options.out / "junit" / f"{SETUPS[key].name}.xml"
        if not options.report_only:
            junit = run_setup(options, SETUPS[key])
        runs[key] = report.read_junit(junit, options.piccolo)

    # A difference that doesn't come back when both sides run the differing tests again, alone
    # on a new database, is flaky or depends on the tests run before it.
    reruns: dict[str, report.Run] = {}
    if options.rerun:
        differing: dict[str, set[str]] = {}
        for pair, found in report.compare(runs, {}).items():
            if pair in PAIRS:
                for key in pair:
                    differing.setdefault(key, set()).update(d.test for d in found)
        for key, tests in differing.items():
            if tests:
                junit = options.out / "junit" / f"{SETUPS[key].name}-rerun.xml"
                if not options.report_only:
                    junit = run_setup(options, SETUPS[key], tag="-rerun", node_ids=sorted(tests))
                reruns[key] = report.read_junit(junit, options.piccolo)

    compared = report.compare(runs, reruns)
    print(report.write_summary(options.out, info, runs, compared))
    if any(run.missing for run in runs.values()):
        return 2
    return int(any(d.reproduced is not False for pair in PAIRS for d in compared.get(pair, [])))


if __name__ == "__main__":
    sys.exit(main())
