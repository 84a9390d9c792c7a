"""The framework with the test feature alone (tests/support/bands.py), for a real server
(`uvicorn tests.support.bands_site:app`). Built as main.py builds the site's app."""

from piccolo.engine.finder import engine_finder

from bandstand.app import create_app
from bandstand.configuration import exit_on_bad_configuration
from tests.support.bands import BANDS

with exit_on_bad_configuration():
    engine_finder()
    app = create_app([BANDS])
