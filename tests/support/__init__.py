import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent

# What a fresh checkout would not have: environments, caches, local data and settings.
NOT_COPIED = shutil.ignore_patterns(
    ".venv*",
    ".git",
    "data",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "test-artifacts",
    ".env",
    "node_modules",
)


def copy_project(destination: Path) -> Path:
    """The project as a fresh checkout would have it, at `destination`."""
    shutil.copytree(PROJECT_ROOT, destination, ignore=NOT_COPIED)
    return destination
