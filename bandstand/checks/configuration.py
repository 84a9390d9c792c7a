"""Settings that load but do not do what they seem to.

Settings that cannot be used at all (a malformed value, a weak SECRET_KEY in production) stop
`piccolo_conf` at import, so every command, this one included, exits 1 with
"bandstand: configuration error: …" before any check runs.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import anyio
import msgspec
from dotenv import dotenv_values

from bandstand.checks.findings import Finding
from bandstand.checks.network import is_plaintext_remote_url
from bandstand.settings import Settings

LOADED = "configuration.I001"
IDLE_LIMIT_UNREACHABLE = "configuration.W001"
LLM_KEY_IN_PLAINTEXT = "configuration.W002"
S3_IN_PLAINTEXT = "configuration.W003"
UNKNOWN_DOTENV_NAME = "configuration.W004"
IDS = (LOADED, IDLE_LIMIT_UNREACHABLE, LLM_KEY_IN_PLAINTEXT, S3_IN_PLAINTEXT, UNKNOWN_DOTENV_NAME)

SETTING_NAMES = frozenset(field.encode_name for field in msgspec.structs.fields(Settings))
# Other programs that read the same environment; uvicorn's flags all have UVICORN_ variables.
OTHER_PROGRAMS_NAMES = frozenset({"FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY", "PORT", "HOST"})
OTHER_PROGRAMS_PREFIXES = ("PG", "UVICORN_", "AWS_", "PYTHON")


async def read_dotenv_names(path: Path) -> list[str]:
    """The variable names a `.env` file sets (none when there is no file)."""

    def read() -> list[str]:
        return list(dotenv_values(path)) if path.is_file() else []

    return await anyio.to_thread.run_sync(read)


def check_configuration(settings: Settings, *, dotenv_names: Collection[str]) -> list[Finding]:
    findings = [
        Finding(
            LOADED,
            f"settings loaded: ENVIRONMENT={settings.environment}, "
            f"DEBUG={str(settings.debug).lower()}, STORAGE_BACKEND={settings.storage_backend}",
        )
    ]
    if settings.session_idle_minutes >= settings.session_max_age_hours * 60:
        findings.append(
            Finding(
                IDLE_LIMIT_UNREACHABLE,
                f"SESSION_IDLE_MINUTES={settings.session_idle_minutes} is not shorter than "
                f"SESSION_MAX_AGE_HOURS={settings.session_max_age_hours}: the idle limit never "
                "ends a session",
                "make SESSION_IDLE_MINUTES shorter than SESSION_MAX_AGE_HOURS times 60",
            )
        )
    if settings.llm_api_key and is_plaintext_remote_url(settings.llm_base_url):
        findings.append(
            Finding(
                LLM_KEY_IN_PLAINTEXT,
                f"LLM_BASE_URL={settings.llm_base_url} is plain http to another machine: "
                "LLM_API_KEY and every chat message cross the network unencrypted",
                "use the provider's https:// URL (plain http is fine only for a model server on "
                "this machine)",
            )
        )
    if settings.storage_backend == "s3" and is_plaintext_remote_url(settings.s3_endpoint_url):
        findings.append(
            Finding(
                S3_IN_PLAINTEXT,
                f"S3_ENDPOINT_URL={settings.s3_endpoint_url} is plain http to another machine: "
                "uploaded files cross the network unencrypted",
                "use the service's https:// endpoint",
            )
        )
    unknown = sorted(name for name in dotenv_names if not _known(name))
    if unknown:
        findings.append(
            Finding(
                UNKNOWN_DOTENV_NAME,
                f".env sets {', '.join(unknown)}, which no setting reads: a misspelt name "
                "leaves its setting at the default",
                "fix or remove the name; .env.example lists every setting",
            )
        )
    return findings


def _known(name: str) -> bool:
    return (
        name in SETTING_NAMES
        or name in OTHER_PROGRAMS_NAMES
        or name.startswith(OTHER_PROGRAMS_PREFIXES)
    )
