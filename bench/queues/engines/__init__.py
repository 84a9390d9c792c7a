"""One module per engine, each run from that engine's own venv (see bench.py)."""
