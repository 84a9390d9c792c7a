"""The ASGI entry point: `uvicorn main:app`."""

from piccolo.engine.finder import engine_finder

from project.app import create_app
from project.configuration import exit_on_bad_configuration

with exit_on_bad_configuration():
    # Finding the engine imports piccolo_conf, which reads files: do it now, not in a request.
    engine_finder()
    app = create_app()
