"""`piccolo project check`: Django-style system checks, one module per area.

Each check returns `Finding`s; `runner.run_checks` puts them together and `report` prints them.
"""

from bandstand.checks.findings import Finding, Level

__all__ = ("Finding", "Level")
