"""The chat's stress-sized tests, run by `make stress` beside the framework's (tests/stress/):
collected only with BANDSTAND_STRESS=1, so `make test` keeps its length."""

from __future__ import annotations

import os

if os.environ.get("BANDSTAND_STRESS") != "1":
    collect_ignore_glob = ["test_*.py"]
