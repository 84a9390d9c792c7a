"""Logging: plain text for a person at a terminal, or one JSON object per line on stdout for a
platform's log collector (`LOG_FORMAT`, json by default in production).

In json mode every record, the app's, Litestar's and uvicorn's, becomes
`{"time", "level", "logger", "message", "request_id", …extra fields, "traceback"}`.
The app's records go through Litestar's queue handler: the filter and the formatter run in the
thread that logs (where the request's id is known), and a listener thread does the writing, so
the event loop never waits on the terminal or a pipe.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import msgspec
from litestar.logging import LoggingConfig
from litestar.types import Logger, Scope

from bandstand.accounts.api_tokens import ANYWHERE as TOKEN_PATTERN
from bandstand.accounts.api_tokens import PREFIX as TOKEN_PREFIX
from bandstand.accounts.api_tokens import REDACTED as REDACTED_TOKEN
from bandstand.database.errors import is_unavailable
from bandstand.errors import from_body_decoding
from bandstand.request_ids import current_request_id
from bandstand.settings import Settings

# What every LogRecord has; anything else on a record came from `extra=` and is output too.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "request_id",
    "color_message",  # uvicorn's copy of the message with terminal colours
}

_encoder = msgspec.json.Encoder(enc_hook=str)


class RequestIdFilter(logging.Filter):
    """Copies the id of the request being handled onto the record; lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class RedactApiTokens(logging.Filter):
    """API tokens out of a record's message: one sent in a URL is refused, but the server's
    access line has the URL already."""

    def filter(self, record: logging.LogRecord) -> bool:
        # In the message and its arguments, kept apart: a formatter (uvicorn's access lines)
        # may read the arguments.
        if isinstance(record.msg, str) and TOKEN_PREFIX in record.msg:
            record.msg = TOKEN_PATTERN.sub(REDACTED_TOKEN, record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                TOKEN_PATTERN.sub(REDACTED_TOKEN, arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


# Where a request's URL is written: the servers' lines and the site's own.
URL_LOGGERS = ("uvicorn.access", "uvicorn.error", "bandstand.access", "litestar")


def redact_api_tokens() -> None:
    """Put `RedactApiTokens` on the loggers that write URLs. Idempotent."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(item, RedactApiTokens) for item in logger.filters):
            logger.addFilter(RedactApiTokens())


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return _encoder.encode(entry).decode()


def _utc_iso(created: float) -> str:
    seconds = int(created)
    milliseconds = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{milliseconds:03d}Z"


def _queue_handler(target: str) -> dict[str, Any]:
    """Litestar's `queue_listener` handler, as Litestar 2.25 builds it for this Python, sending
    to the handler named `target` and formatting to JSON before the record is queued."""
    if sys.version_info >= (3, 12):
        # dictConfig builds the queue, the listener and its handlers itself.
        handler: dict[str, Any] = {
            "class": "logging.handlers.QueueHandler",
            "queue": {"()": "queue.Queue", "maxsize": -1},
            "listener": "litestar.logging.standard.LoggingQueueListener",
            "handlers": [target],
        }
    else:
        # Litestar's own handler resolves its list by indexing it: `cfg://` makes that yield
        # the configured handler (handlers are configured in name order: target sorts first).
        handler = {
            "class": "litestar.logging.standard.QueueListenerHandler",
            "handlers": [f"cfg://handlers.{target}"],
        }
    return {**handler, "level": "DEBUG", "formatter": "json", "filters": ["request_id"]}


def log_uncaught(logger: Logger, scope: Scope, tb: list[str]) -> None:
    """Litestar's own message for an exception no handler expected, with its traceback; but not
    for the database being away, which bandstand/errors.py answers with a 503 and logs in one
    line (an outage would otherwise fill the log with the same traceback per request), nor for
    a client's malformed JSON, a 400."""
    error = sys.exc_info()[1] or Exception()
    if is_unavailable(error) or from_body_decoding(error):
        return
    logger.exception(
        "Uncaught exception (connection_type=%s, path=%r):", scope["type"], scope["path"]
    )


def litestar_logging_config(settings: Settings) -> LoggingConfig:
    # A client's mistake is not the server's: no traceback in the logs for 4xx.
    quiet: set[int | type[Exception]] = set(range(400, 500))
    if settings.log_format == "text":
        return LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            log_exceptions="always",
            disable_stack_trace=quiet,
            exception_logging_handler=log_uncaught,
        )
    return LoggingConfig(
        formatters={"json": {"()": JsonFormatter}, "line": {"format": "%(message)s"}},
        filters={"request_id": {"()": RequestIdFilter}},
        handlers={
            # Writes what the queue handler formatted, from the listener's thread.
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "level": "DEBUG",
                "formatter": "line",
            },
            "queue_listener": _queue_handler("console"),
        },
        root={"level": settings.log_level, "handlers": ["queue_listener"]},
        log_exceptions="always",
        disable_stack_trace=quiet,
        exception_logging_handler=log_uncaught,
    )


def uvicorn_json_log_config(level: str) -> dict[str, Any]:
    """uvicorn's own lines (start-up, shutdown, protocol errors) as JSON on stdout; its access
    log is off, since the app writes one line per request with its id. By dotted names, not
    objects: uvicorn hands this to each worker process."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "bandstand.logs.JsonFormatter"}},
        "filters": {"request_id": {"()": "bandstand.logs.RequestIdFilter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stdout"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }
