"""The wheel's build hook: the sample site's files that `bandstand new` copies into a new project
go into the wheel under bandstand/project_template/sample_site/ (a checkout reads them where
they are). Which files: bandstand/project_template/__init__.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

TEMPLATE = Path("bandstand/project_template")


def _template_module(root: Path) -> ModuleType:
    """The manifest, loaded by its path: the build has none of Bandstand's dependencies."""
    spec = importlib.util.spec_from_file_location(
        "_project_template", root / TEMPLATE / "__init__.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SampleSiteHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version != "standard":
            return  # an editable install reads the checkout
        root = Path(self.root)
        template = _template_module(root)
        for file in template.all_site_files(root):
            build_data["force_include"][str(root / file)] = str(TEMPLATE / "sample_site" / file)
