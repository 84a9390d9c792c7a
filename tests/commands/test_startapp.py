"""`piccolo project startapp NAME` in a copy of the project: the generated feature passes the
linters and its own tests, migrates, and shows at once on the site, in the navigation and in
the admin; bad or taken names are refused and nothing is written."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.commands.running import BIN, environment, piccolo, run, stop, wait_until_healthy
from tests.support import PROJECT_ROOT, copy_project
from tests.support.accounts import SITE_PASSWORD, site_login
from tests.support.postgres_servers import free_port

pytestmark = pytest.mark.engine_independent

NAME = "field_notes"
GENERATED = [
    "project/field_notes/__init__.py",
    "project/field_notes/admin.py",
    "project/field_notes/routes.py",
    "project/field_notes/tables.py",
    "templates/field_notes/index.html",
    "tests/field_notes/__init__.py",
    "tests/field_notes/test_index.py",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("startapp") / "project"
    copy_project(copy)
    return copy


Serve = Callable[[str], str]


@pytest.fixture
def served(project: Path, tmp_path: Path) -> Iterator[Serve]:
    """Start the copy's site under uvicorn on a database, as `make run` does; yields its URL."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(database_url: str) -> str:
        port = free_port()
        log = tmp_path / "uvicorn.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(BIN / "python"), "-m", "uvicorn", "main:app", "--port", str(port)],
                cwd=project,
                env=environment(DATABASE_URL=database_url),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, process, log)
        return base

    yield start
    for process in processes:
        stop(process)


def source_files(project: Path) -> dict[str, str]:
    """Every source file of the copy and its text (caches left out)."""
    return {
        str(path.relative_to(project)): path.read_text()
        for folder in ("project", "templates", "tests")
        for path in (project / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def checked(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.timeout(900)
def test_a_new_feature_works_at_once(project: Path, tmp_path: Path, served: Serve) -> None:
    features_before = (project / "project/features.py").read_text()
    output = checked(piccolo("project", "startapp", NAME, cwd=project))
    for path in GENERATED:
        assert (project / path).is_file(), path
        assert f"created {path}" in output
    features = (project / "project/features.py").read_text()
    assert features != features_before
    assert "from project.field_notes import tables as field_notes_tables" in features
    assert 'Feature(\n        "field_notes",' in features

    # As-is, the generated code passes the project's own checks.
    python_files = [path for path in GENERATED if path.endswith(".py")] + ["project/features.py"]
    checked(run(str(BIN / "ruff"), "check", *python_files, cwd=project))
    checked(run(str(BIN / "ruff"), "format", "--check", *python_files, cwd=project))
    # As `make lint` runs it, from a copy of its cache when there is one (CI lints first): then
    # only the new modules and what imports them are analysed again.
    cache = tmp_path / "mypy-cache"
    if (PROJECT_ROOT / ".mypy_cache").is_dir():
        shutil.copytree(PROJECT_ROOT / ".mypy_cache", cache)
    mypy = [str(BIN / "mypy"), f"--cache-dir={cache}", *python_files]
    checked(run(*mypy, cwd=project, timeout=600))

    migrations = set((project / "piccolo_migrations").glob("*.py"))
    checked(piccolo("migrations", "new", "project", "--auto", cwd=project))
    (new_migration,) = set((project / "piccolo_migrations").glob("*.py")) - migrations
    assert "field_notes_item" in new_migration.read_text()
    database_url = f"sqlite:///{tmp_path}/site.sqlite3"
    checked(
        piccolo("migrations", "forwards", "all", cwd=project, env={"DATABASE_URL": database_url})
    )

    # Its tests pass, run as the project's own tests are.
    tests = run(
        str(BIN / "python"),
        "-m",
        "pytest",
        "tests/field_notes",
        "-p",
        "no:cacheprovider",
        cwd=project,
        env={"BANDSTAND_TEST_DATABASE": "sqlite"},
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert re.search(r"\b3 passed\b", tests.stdout), tests.stdout

    superuser = {"SUPERUSER_USERNAME": "admin", "SUPERUSER_PASSWORD": SITE_PASSWORD}
    env = {"DATABASE_URL": database_url, **superuser}
    checked(piccolo("project", "superuser", cwd=project, env=env))
    base = served(database_url)
    with httpx.Client(base_url=base) as client:
        page = client.get("/field-notes")
        assert page.status_code == 200
        assert "<h1>Field notes</h1>" in page.text
        assert '<a href="/field-notes">Field notes</a>' in client.get("/").text
        site_login(client)
        tables = client.get("/admin/api/tables/")
        assert tables.status_code == 200, tables.text
        assert "field_notes_item" in tables.json()

    # Now the name is taken, and nothing is overwritten.
    again = piccolo("project", "startapp", NAME, cwd=project)
    assert again.returncode == 1
    assert "startapp: a feature named 'field_notes' is already installed" in again.stderr
    assert (project / "project/features.py").read_text() == features


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Notes", "'Notes' is not a valid name: use lowercase letters, digits and single"),
        ("2notes", "'2notes' is not a valid name"),
        ("field-notes", "'field-notes' is not a valid name"),
        ("class", "'class' is a Python keyword"),
        ("a" * 31, f"'{'a' * 31}' is too long: at most 30 characters"),
        ("pages", "a feature named 'pages' is already installed"),
        ("accounts", "a feature named 'accounts' is already installed"),
        ("commands", "tests/commands already exists"),
        ("support", "tests/support already exists"),
        ("membership", "a table named 'membership' exists already"),
        ("sessions", "a table named 'sessions' exists already"),
        ("media", "the URL /media is taken by the site's routes"),
        ("login", "the URL /login is taken by the site's routes"),
    ],
)
def test_a_bad_or_taken_name_is_refused(project: Path, name: str, message: str) -> None:
    before = source_files(project)

    result = piccolo("project", "startapp", name, cwd=project)

    assert result.returncode == 1
    assert f"startapp: {message}" in result.stderr
    assert source_files(project) == before


def test_an_existing_folder_is_never_overwritten(project: Path) -> None:
    before = source_files(project)
    (project / "templates/notes").mkdir()
    try:
        result = piccolo("project", "startapp", "notes", cwd=project)
    finally:
        (project / "templates/notes").rmdir()

    assert result.returncode == 1
    assert "startapp: templates/notes already exists; choose another name" in result.stderr
    assert source_files(project) == before
