"""`bandstand new` run from this checkout: the project it writes, from the template and the
sample site's own files, and what it refuses."""

import ast
import tomllib
from pathlib import Path

import pytest

from bandstand import __version__
from bandstand.cli import main
from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.engine_independent

TOP_LEVEL = {
    ".env.example",
    ".gitignore",
    "Makefile",
    "README.md",
    "main.py",
    "piccolo_conf.py",
    "piccolo_migrations",
    "project",
    "pyproject.toml",
    "static",
    "templates",
    "tests",
}


def files_under(folder: Path) -> set[str]:
    files = {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()}
    return {file.as_posix() for file in files if "__pycache__" not in file.parts}


def site_name_in(project: Path) -> object:
    """The `name=` that main.py hands create_app, as Python reads it."""
    for node in ast.walk(ast.parse((project / "main.py").read_text())):
        if isinstance(node, ast.keyword) and node.arg == "name":
            return ast.literal_eval(node.value)
    raise AssertionError("main.py names no site")


def test_a_new_project_has_the_sites_layout_without_the_demos(tmp_path: Path) -> None:
    project = tmp_path / "field_notes"
    main(["new", str(project)])

    assert {path.name for path in project.iterdir()} == TOP_LEVEL
    assert site_name_in(project) == "Field Notes"
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["name"] == "field-notes"
    assert metadata["dependencies"] == [f"bandstand=={__version__}"]
    # The sample site's own pages, as they are; none of its demos.
    for shared in ("project/pages/routes.py", "templates/pages/home.html", "piccolo_conf.py"):
        assert (project / shared).read_bytes() == (PROJECT_ROOT / shared).read_bytes()
    assert 'routes="project.pages.routes"' in (project / "project/features.py").read_text()
    assert not (project / "project/catalog").exists()
    assert not (project / "tests/catalog").exists()
    assert list((project / "piccolo_migrations").iterdir()) == [
        project / "piccolo_migrations/__init__.py"
    ]
    assert not [path for path in files_under(project) if path.endswith(".tmpl")]


def test_the_demo_brings_the_demos_and_the_tests_that_run_without_the_sites_servers(
    tmp_path: Path,
) -> None:
    project = tmp_path / "demo"
    main(["new", "--demo", str(project)])

    for demo in ("catalog", "chat", "dashboard", "webinars"):
        code = Path("project") / demo
        assert files_under(project / code) == files_under(PROJECT_ROOT / code)
    for copied in ("project/features.py", "static/css/site.css", "static/js/chat.js"):
        assert (project / copied).read_bytes() == (PROJECT_ROOT / copied).read_bytes()
    migrations = {path.name for path in (PROJECT_ROOT / "piccolo_migrations").glob("*.py")}
    assert migrations <= {path.name for path in (project / "piccolo_migrations").iterdir()}
    tests = files_under(project / "tests")
    assert "catalog/test_products_page.py" in tests
    assert "chat/test_offline.py" in tests
    for left_out in ("catalog/test_browser.py", "webinars/test_photos.py"):
        assert left_out not in tests
    assert "pages/test_home.py" in tests  # the template's, which names no demo


@pytest.mark.parametrize("name", ["Ada's notes", 'The "Notes"', "Back\\slash 'n' \"quotes\""])
def test_the_sites_name_is_written_as_python_reads_it(tmp_path: Path, name: str) -> None:
    main(["new", "--name", name, str(tmp_path / "site")])
    assert site_name_in(tmp_path / "site") == name


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")

    with pytest.raises(SystemExit, match="is not an empty folder"):
        main(["new", str(tmp_path)])
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out == f"bandstand {__version__}\n"
