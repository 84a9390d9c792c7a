"""The sample site as an ASGI app, for the tests that serve it with a real server:
`uvicorn tests.support.sample_site:app` (from the project's folder), configured from the
environment as `main:app` is. Its database needs the test-only tables
(`tests.support.tables.create`) besides the migrations."""

import gc

from piccolo.engine.finder import engine_finder

from bandstand.configuration import exit_on_bad_configuration
from tests.support.sample import sample_app

with exit_on_bad_configuration():
    # Finding the engine imports piccolo_conf, which reads files: now, not in a request.
    engine_finder()
    app = sample_app()

# What import built lives as long as the process: out of the collector's full passes.
gc.freeze()
