"""The ASGI entry point: `uvicorn main:app`."""

import gc

from piccolo.engine.finder import engine_finder

from bandstand.app import create_app
from bandstand.configuration import exit_on_bad_configuration
from project.features import FEATURES

with exit_on_bad_configuration():
    # Finding the engine imports piccolo_conf, which reads files: do it now, not in a request.
    engine_finder()
    app = create_app(FEATURES)

# What import built (routes, templates, tables, the admin) lives as long as the process: keep it
# out of the collector's full passes, which otherwise walk it again and again under load.
gc.freeze()
