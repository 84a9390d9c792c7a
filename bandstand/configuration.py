"""Turn a bad setting into one clear line at start-up instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bandstand.database.url import DatabaseURLError
from bandstand.settings import SettingsError


@contextmanager
def exit_on_bad_configuration() -> Iterator[None]:
    try:
        yield
    except (SettingsError, DatabaseURLError) as error:
        # SystemExit with a message prints it to stderr and exits 1, with no traceback, under
        # uvicorn, the Piccolo CLI and plain Python alike.
        raise SystemExit(f"bandstand: configuration error: {error}") from None
