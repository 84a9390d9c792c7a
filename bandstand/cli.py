"""The `bandstand` command: `bandstand new DIR` writes a new project, `--demo` with the demos.

A new project is the sample site's layout (main.py, piccolo_conf.py, project/, templates/,
static/, piccolo_migrations/, tests/) depending on this version of bandstand; its files come
from bandstand/project_template/.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from string import Template

from bandstand import __version__, project_template

# Files of the template folder that are not a project's.
TEMPLATE_ONLY = frozenset({"__init__.py", "sample_site"})
# Long enough for any real name, short enough that main.py's line stays within 100 columns.
MAX_NAME_LENGTH = 60


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="bandstand", description="Bandstand: an async web stack on Litestar and Piccolo."
    )
    parser.add_argument("--version", action="version", version=f"bandstand {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    new = commands.add_parser(
        "new",
        help="write a new project",
        description="Write a new project into DIR (new, or an empty folder): `make run` serves "
        "it, `make test` tests it.",
    )
    new.add_argument("directory", metavar="DIR", type=Path, help="a new folder, or an empty one")
    new.add_argument("--demo", action="store_true", help="with the demos and their tests")
    new.add_argument(
        "--name", help="the site's name in its pages, admin and API schema (default: from DIR)"
    )
    arguments = parser.parse_args(argv)
    written = write_project(arguments.directory, name=arguments.name, demo=arguments.demo)
    print(f"wrote {len(written)} files into {arguments.directory}; next:")
    print(f"  cd {arguments.directory}")
    print("  make run   # installs into .venv/, migrates, serves http://127.0.0.1:8000")
    print("  make test")


def write_project(directory: Path, *, name: str | None = None, demo: bool = False) -> list[Path]:
    """Write a new project into `directory`; the files written. Exits with a message if the
    folder is not empty or a name will not do."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        sys.exit(f"bandstand new: {directory} is not an empty folder; choose a new one")
    folder_name = directory.resolve().name
    site_name = _site_name(name, folder_name)
    values = {
        "project_name": _project_name(folder_name),
        "site_name": site_name,
        "site_name_literal": _python_string(site_name),
        "bandstand_version": __version__,
    }
    try:
        sources = _sources(demo)
    except FileNotFoundError as error:  # a checkout whose demos were removed
        sys.exit(f"bandstand new: {error}")
    written = []
    for target, source in sorted(sources.items()):
        path = directory / target
        path.parent.mkdir(parents=True, exist_ok=True)
        if source.name.endswith(".tmpl"):
            path.write_text(Template(source.read_text()).substitute(values))
        else:
            shutil.copyfile(source, path)
        written.append(path)
    return written


def _sources(demo: bool) -> dict[str, Path]:
    """Each file of the new project (a path relative to it) and the file it is made from."""
    template = project_template.HERE
    sources = {}
    for source in sorted(template.rglob("*")):
        relative = source.relative_to(template)
        if relative.parts[0] in TEMPLATE_ONLY or "__pycache__" in relative.parts:
            continue
        if source.is_file():
            sources[relative.as_posix().removesuffix(".tmpl")] = source
    site = _sample_site()
    entries = project_template.SHARED + (project_template.DEMO if demo else ())
    for file in project_template.site_files(site, entries):
        sources[file] = site / file  # the demos' features.py and site.css replace the template's
    return sources


def _sample_site() -> Path:
    """Where the sample site's files are: in the wheel, or in the checkout bandstand runs from."""
    if project_template.BUNDLED_SITE.is_dir():
        return project_template.BUNDLED_SITE
    checkout = project_template.CHECKOUT_SITE
    if (checkout / "project" / "features.py").is_file():
        return checkout
    sys.exit(f"bandstand new: this bandstand has no project files ({project_template.HERE})")


def _project_name(folder_name: str) -> str:
    """The distribution name of pyproject.toml, from the folder's name: `My Site` → `my-site`."""
    project_name = re.sub(r"[^a-z0-9]+", "-", folder_name.lower()).strip("-")
    if not project_name:
        sys.exit(f"bandstand new: no project name in the folder name {folder_name!r}")
    return project_name


def _site_name(name: str | None, folder_name: str) -> str:
    """The site's name: as given, or the folder's words: `my_site` → `My Site`."""
    if name is None:
        name = " ".join(word.capitalize() for word in re.split(r"[\W_]+", folder_name) if word)
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        sys.exit(
            f"bandstand new: the site's name must be 1 to {MAX_NAME_LENGTH} printable characters"
        )
    return name


def _python_string(text: str) -> str:
    """`text` as a Python string literal, quoted as ruff's formatter would."""
    if '"' in text and "'" not in text:
        return "'" + text.replace("\\", "\\\\") + "'"
    return json.dumps(text, ensure_ascii=False)


if __name__ == "__main__":
    main()
