"""`piccolo project startapp NAME`: a new feature like the demos, wired into project/features.py.

The files come from `startapp_template/` (string.Template placeholders, `.tmpl` suffix).
"""

from __future__ import annotations

import ast
import keyword
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from bandstand.features import Feature, with_framework
from bandstand.settings import get_settings

TEMPLATE_DIR = Path(__file__).resolve().parent / "startapp_template"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
# Long enough for any real name, short enough that every generated line fits in 100 columns.
MAX_NAME_LENGTH = 30
# Migrations' own table: not a table class of any app.
MIGRATION_TABLE = "migration"


@dataclass(frozen=True)
class Names:
    name: str  # the package: project/<name>/, templates/<name>/, tests/<name>/

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    @property
    def path(self) -> str:
        return "/" + self.name.replace("_", "-")

    @property
    def table_class(self) -> str:
        return "".join(word.capitalize() for word in self.name.split("_")) + "Item"

    @property
    def tablename(self) -> str:
        return f"{self.name}_item"

    def substitutions(self) -> dict[str, str]:
        return {
            "name": self.name,
            "label": self.label,
            "path": self.path,
            "table_class": self.table_class,
            "tablename": self.tablename,
        }


def startapp_command(features: Sequence[Feature]) -> Callable[[str], None]:
    def startapp(name: str) -> None:
        """
        Create a new feature like the demos: project/NAME/ (a table, a list page, its admin),
        templates/NAME/index.html and tests/NAME/, and add it to FEATURES in
        project/features.py (with a link in the navigation). Then: `piccolo migrations new
        project --auto` and `piccolo migrations forwards all`.

        :param name:
            the feature's name: lowercase letters, digits and single underscores, starting with
            a letter (e.g. field_notes); it names the package, the page (/field-notes) and the
            table.
        """
        run_startapp(features, str(name))

    return startapp


def run_startapp(features: Sequence[Feature], name: str) -> None:
    """Write the feature `name` into the project folder, beside `features`."""
    root = get_settings().root
    names = Names(name)
    _check_name(names, features, root)
    files = _files(names, root)
    existing = [path for path in files if path.exists()]
    if existing:
        listed = ", ".join(str(path.relative_to(root)) for path in existing)
        sys.exit(f"startapp: refusing to overwrite what exists: {listed}")
    features_path = root / "project" / "features.py"
    features_source = _add_feature(features_path.read_text(), names)

    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    features_path.write_text(features_source)

    for path in files:
        print(f"created {path.relative_to(root)}")
    print(f"added {names.name!r} to FEATURES in project/features.py")
    print(
        "next: piccolo migrations new project --auto && piccolo migrations forwards all, "
        f"then the page is at {names.path} (make run) and {names.table_class} is in the admin"
    )


def _check_name(names: Names, features: Sequence[Feature], root: Path) -> None:
    name = names.name
    if not NAME_PATTERN.fullmatch(name):
        sys.exit(
            f"startapp: {name!r} is not a valid name: use lowercase letters, digits and single "
            "underscores, starting with a letter (e.g. field_notes)"
        )
    if len(name) > MAX_NAME_LENGTH:
        sys.exit(f"startapp: {name!r} is too long: at most {MAX_NAME_LENGTH} characters")
    if keyword.iskeyword(name):
        sys.exit(f"startapp: {name!r} is a Python keyword; choose another name")

    if name in {feature.name for feature in with_framework(features)}:
        sys.exit(f"startapp: a feature named {name!r} is already installed")
    for folder in (root, root / "project", root / "templates", root / "tests"):
        for taken in (folder / name, folder / f"{name}.py"):
            if taken.exists():
                where = taken.relative_to(root)
                sys.exit(f"startapp: {where} already exists; choose another name")
    _check_tables(names)
    _check_path(names, features)


def _check_tables(names: Names) -> None:
    """The feature's name and its table must not be a table's (nor its class a table class's:
    auto migrations know tables by class name)."""
    from piccolo.conf.apps import Finder

    tables = Finder().get_table_classes()
    tablenames = {table._meta.tablename for table in tables} | {MIGRATION_TABLE}
    for taken in (names.name, names.tablename):
        if taken in tablenames:
            sys.exit(f"startapp: a table named {taken!r} exists already; choose another name")
    if names.table_class in {table.__name__ for table in tables}:
        sys.exit(f"startapp: a table class {names.table_class} exists already; choose another name")


def _check_path(names: Names, features: Sequence[Feature]) -> None:
    """The page's URL must be free: not a route, nor a prefix of routes (/admin, /api …)."""
    import msgspec

    from bandstand.app import create_app
    from bandstand.settings import get_settings

    # The routes do not depend on the storage: no S3 client for a name check.
    settings = msgspec.structs.replace(get_settings(), storage_backend="filesystem")
    for route in create_app(features, settings).routes:
        if route.path == names.path or route.path.startswith(names.path + "/"):
            sys.exit(f"startapp: the URL {names.path} is taken by the site's routes")


def _files(names: Names, root: Path) -> dict[Path, str]:
    """Where each generated file goes, and its text."""
    targets = {
        "feature": root / "project" / names.name,
        "templates": root / "templates" / names.name,
        "tests": root / "tests" / names.name,
    }
    files = {}
    for folder, target in targets.items():
        for template in sorted((TEMPLATE_DIR / folder).glob("*.tmpl")):
            filename = template.name.removesuffix(".tmpl")
            files[target / filename] = _render(template, names)
    return files


def _render(template: Path, names: Names) -> str:
    return Template(template.read_text()).substitute(names.substitutions())


def _add_feature(source: str, names: Names) -> str:
    """project/features.py with the feature's tables imported (in isort's order) and its entry
    last in FEATURES; exits with what to add by hand if the file's shape is not the expected one."""
    entry = _render(TEMPLATE_DIR / "features_entry.py.tmpl", names)
    statement = f"from project.{names.name} import tables as {names.name}_tables"
    manual = f"add this import and this entry to FEATURES by hand:\n{statement}\n{entry}"
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        sys.exit(f"startapp: project/features.py does not parse ({error}); {manual}")
    features = _features_tuple(tree)
    if features is None or not features.elts or features.end_lineno is None:
        sys.exit(f"startapp: FEATURES not found as a tuple in project/features.py; {manual}")

    lines = source.splitlines(keepends=True)
    # The entry goes before the tuple's closing parenthesis; the last entry needs its comma.
    last = features.elts[-1]
    assert last.end_lineno is not None
    assert last.end_col_offset is not None
    closing = features.end_lineno - 1
    after_last = lines[last.end_lineno - 1][last.end_col_offset :]
    if not after_last.lstrip().startswith(","):
        line = lines[last.end_lineno - 1]
        lines[last.end_lineno - 1] = line[: last.end_col_offset] + "," + after_last
    if lines[closing].strip() != ")":
        sys.exit(f"startapp: FEATURES does not end on a line of its own in features.py; {manual}")
    lines.insert(closing, entry)

    # The import last: inserting it moves the lines below, FEATURES included.
    lines.insert(_import_position(ast.parse("".join(lines)), statement), statement + "\n")
    return _with_navlink_imported("".join(lines))


def _with_navlink_imported(source: str) -> str:
    """The entry's `NavLink`, added to the `from bandstand.features import …` line that a site
    without a linked feature may have without it."""
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ImportFrom) or node.module != "bandstand.features":
            continue
        names = [alias.name for alias in node.names]
        if "NavLink" in names or any(alias.asname for alias in node.names):
            return source
        lines = source.splitlines(keepends=True)
        joined = ", ".join(sorted([*names, "NavLink"]))
        lines[node.lineno - 1 : node.end_lineno] = [f"from bandstand.features import {joined}\n"]
        return "".join(lines)
    return "from bandstand.features import NavLink\n" + source


def _features_tuple(tree: ast.Module) -> ast.Tuple | None:
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):
            targets: list[ast.expr] = [node.target]
        elif isinstance(node, ast.Assign):
            targets = node.targets
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == "FEATURES" for target in targets):
            return node.value if isinstance(node.value, ast.Tuple) else None
    return None


def _import_position(tree: ast.Module, statement: str) -> int:
    """The index of the line before which `statement` sorts among the `from project…` imports
    (isort's order: module, then name, comparing runs of digits as numbers)."""
    new = ast.parse(statement).body[0]
    assert isinstance(new, ast.ImportFrom)
    position = None
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("project"):
            continue
        if _import_key(node) > _import_key(new):
            return node.lineno - 1
        position = node.end_lineno
    if position is None:
        sys.exit("startapp: no `from project… import` lines found in project/features.py")
    return position


def _import_key(node: ast.ImportFrom) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return _natural(node.module or ""), _natural(node.names[0].name)


def _natural(text: str) -> list[tuple[int, int]]:
    """A sort key comparing characters by code, but a run of digits as one number."""
    return [
        (ord("0"), int(run)) if run.isdigit() else (ord(run), 0)
        for run in re.findall(r"\d+|\D", text.lower())
    ]
