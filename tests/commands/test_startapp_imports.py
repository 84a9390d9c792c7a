"""`startapp`'s entry links the feature in the navigation: a features.py that imports no
`NavLink` yet (a new project's, whose only feature has no link) gets it imported."""

import ast

from bandstand.commands.startapp import Names, _add_feature

SITE = """from bandstand.features import Feature
from project.pages import demo as pages_demo

FEATURES: tuple[Feature, ...] = (
    Feature("pages", routes="project.pages.routes", load_demo=pages_demo.load),
)
"""


def test_navlink_is_imported_where_it_was_not() -> None:
    source = _add_feature(SITE, Names("field_notes"))

    tree = ast.parse(source)
    (imported,) = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "bandstand.features"
    ]
    assert [alias.name for alias in imported.names] == ["Feature", "NavLink"]
    # In isort's order, which `ruff check` keeps.
    assert source.index("from project.field_notes import tables as field_notes_tables\n") < (
        source.index("from project.pages import demo as pages_demo\n")
    )
    assert 'routes="project.field_notes.routes",' in source
    assert "nav=NavLink(" in source


def test_an_import_that_has_it_stays_as_it_is() -> None:
    with_navlink = SITE.replace("import Feature\n", "import Feature, NavLink\n")

    source = _add_feature(with_navlink, Names("field_notes"))

    assert source.count("from bandstand.features import Feature, NavLink\n") == 1
