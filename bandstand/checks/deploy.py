"""`--deploy`: the settings a production deployment needs, as Django's `check --deploy`.

ENVIRONMENT=production already refuses the development SECRET_KEY, one under 32 characters
and DEBUG at start-up; these checks say so before the switch, and add what production mode
cannot know (allowed hosts, HTTPS in front, where the data lives).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from bandstand.checks.findings import Finding
from bandstand.settings import DEVELOPMENT_SECRET_KEY, MIN_PRODUCTION_SECRET_KEY_LENGTH, Settings

DatabaseKind = Literal["sqlite", "postgres"]

DEVELOPMENT_KEY = "deploy.E001"
SHORT_KEY = "deploy.E002"
LOW_VARIETY_KEY = "deploy.W001"
DEBUG_ON = "deploy.E003"
NOT_PRODUCTION = "deploy.E004"
ANY_HOST = "deploy.W002"
LOCAL_HOSTS_ONLY = "deploy.W003"
NO_HTTPS = "deploy.W004"
SQLITE_ON_INSTANCE = "deploy.W005"
UPLOADS_ON_INSTANCE = "deploy.W006"
TEXT_LOGS = "deploy.W007"
EMAIL_NOT_SENT = "deploy.E005"
LOCAL_SITE_URL = "deploy.W008"
OPS_PAGE_ON = "deploy.W009"
IDS = (
    DEVELOPMENT_KEY,
    SHORT_KEY,
    LOW_VARIETY_KEY,
    DEBUG_ON,
    NOT_PRODUCTION,
    ANY_HOST,
    LOCAL_HOSTS_ONLY,
    NO_HTTPS,
    SQLITE_ON_INSTANCE,
    UPLOADS_ON_INSTANCE,
    TEXT_LOGS,
    EMAIL_NOT_SENT,
    LOCAL_SITE_URL,
    OPS_PAGE_ON,
)

# A random key of 32 characters has about 20 different ones (hex: about 14 of 16); fewer than
# 10 means words, a pattern or a repeated character.
MIN_DISTINCT_KEY_CHARACTERS = 10
LOCAL_HOST_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
NEW_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
_FALSE = frozenset({"0", "false", "no", "off"})


def check_deploy(
    settings: Settings, *, database_kind: DatabaseKind, environ: Mapping[str, str]
) -> list[Finding]:
    findings = _secret_key(settings.secret_key)
    if settings.debug:
        findings.append(
            Finding(
                DEBUG_ON,
                "DEBUG is on: error pages show tracebacks and settings to anyone",
                "set DEBUG=false (production refuses to start with it on)",
            )
        )
    if not settings.is_production:
        findings.append(
            Finding(
                NOT_PRODUCTION,
                f"ENVIRONMENT={settings.environment}: the session, CSRF and flash cookies are "
                "sent without Secure (over plain http too), and Piccolo Admin runs in "
                "development mode",
                "set ENVIRONMENT=production",
            )
        )
    findings += _allowed_hosts(settings.allowed_hosts)
    if not _https_in_front(environ):
        findings.append(
            Finding(
                NO_HTTPS,
                "no HTTPS the app can see: uvicorn serves no TLS (UVICORN_SSL_CERTFILE) and "
                "trusts no TLS-terminating proxy (FORWARDED_ALLOW_IPS), so behind one every "
                "request looks like plain http from the proxy's address — one login-throttle "
                "bucket for all clients, and the admin's origin check fails",
                "set FORWARDED_ALLOW_IPS to the proxy's address (* when nothing but the proxy "
                "can reach the app, as on most PaaS), in the environment uvicorn runs in; a "
                "proxy on this machine: FORWARDED_ALLOW_IPS=127.0.0.1. Or give uvicorn the "
                "certificate: UVICORN_SSL_CERTFILE and UVICORN_SSL_KEYFILE",
            )
        )
    if database_kind == "sqlite":
        findings.append(
            Finding(
                SQLITE_ON_INSTANCE,
                "the database is a SQLite file on this instance's disk: a PaaS that replaces "
                "instances on deploy loses it, and a second instance cannot share it",
                "use PostgreSQL (DATABASE_URL=postgresql://…), or keep the file on a persistent "
                "volume and run one instance",
            )
        )
    if settings.storage_backend == "filesystem":
        findings.append(
            Finding(
                UPLOADS_ON_INSTANCE,
                "uploads are stored on this instance's disk (STORAGE_BACKEND=filesystem): a "
                "PaaS that replaces instances on deploy loses them, and other instances do not "
                "see them",
                "use STORAGE_BACKEND=s3 or database, or put MEDIA_ROOT on a persistent volume",
            )
        )
    findings += _email(settings)
    if settings.log_format == "text":
        findings.append(
            Finding(
                TEXT_LOGS,
                "LOG_FORMAT=text: log lines are plain text without request ids, which a "
                "platform's log viewer can neither parse nor tie to its router's lines",
                "remove LOG_FORMAT (json is production's default) or set LOG_FORMAT=json",
            )
        )
    if settings.ops_page_enabled:
        findings.append(
            Finding(
                OPS_PAGE_ON,
                "OPS_PAGE_ENABLED: /ops runs migrations, demo data resets and backups from the "
                "browser, for any superuser with two-factor sign-in on",
                "set OPS_PAGE_ENABLED=false once the host has a shell or a release step; if the "
                "page is meant to stay, --silence=deploy.W009",
            )
        )
    return findings


def _secret_key(key: str) -> list[Finding]:
    if key == DEVELOPMENT_SECRET_KEY:
        return [
            Finding(
                DEVELOPMENT_KEY,
                "SECRET_KEY is the development key, which is in the source code: anyone can "
                "sign sessions and CSRF tokens",
                f"set SECRET_KEY to a new random value: {NEW_KEY}",
            )
        ]
    if len(key) < MIN_PRODUCTION_SECRET_KEY_LENGTH:
        return [
            Finding(
                SHORT_KEY,
                f"SECRET_KEY has {len(key)} characters, fewer than the "
                f"{MIN_PRODUCTION_SECRET_KEY_LENGTH} production requires",
                f"set SECRET_KEY to a new random value: {NEW_KEY}",
            )
        ]
    if len(set(key)) < MIN_DISTINCT_KEY_CHARACTERS:
        return [
            Finding(
                LOW_VARIETY_KEY,
                f"SECRET_KEY uses only {len(set(key))} different characters: it looks chosen "
                "by hand, not generated, and may be guessed",
                f"set SECRET_KEY to a new random value: {NEW_KEY}",
            )
        ]
    return []


def _email(settings: Settings) -> list[Finding]:
    findings = []
    if settings.email_backend != "smtp":
        findings.append(
            Finding(
                EMAIL_NOT_SENT,
                f"EMAIL_BACKEND={settings.email_backend}: e-mails (password resets, address "
                "checks) are never sent, "
                + (
                    "only printed to the log"
                    if settings.email_backend == "console"
                    else "only kept in memory"
                ),
                "set EMAIL_BACKEND=smtp and EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, "
                "EMAIL_HOST_PASSWORD and EMAIL_USE_TLS (or EMAIL_USE_SSL) from your mail provider",
            )
        )
    host = urlsplit(settings.site_url).hostname or ""
    if host in LOCAL_HOST_NAMES or not settings.site_url.startswith("https://"):
        findings.append(
            Finding(
                LOCAL_SITE_URL,
                f"SITE_URL={settings.site_url}: the links in e-mails "
                + ("point to this machine" if host in LOCAL_HOST_NAMES else "are not https"),
                "set SITE_URL to the address people reach the site at: https://example.com",
            )
        )
    return findings


def _allowed_hosts(hosts: tuple[str, ...]) -> list[Finding]:
    if "*" in hosts:
        return [
            Finding(
                ANY_HOST,
                "ALLOWED_HOSTS contains *: the site answers to any Host header, which lets "
                "forged host names into links and caches",
                "list the site's names: ALLOWED_HOSTS=example.com,www.example.com",
            )
        ]
    if set(hosts) <= LOCAL_HOST_NAMES:
        return [
            Finding(
                LOCAL_HOSTS_ONLY,
                f"ALLOWED_HOSTS is {','.join(hosts) or 'empty'}: the site answers 400 to its "
                "public name",
                "list the site's names: ALLOWED_HOSTS=example.com,www.example.com",
            )
        ]
    return []


def _https_in_front(environ: Mapping[str, str]) -> bool:
    """uvicorn terminates TLS itself, or trusts the X-Forwarded-Proto of a proxy that does.

    uvicorn reads its flags from UVICORN_* variables, and --forwarded-allow-ips also from
    FORWARDED_ALLOW_IPS; its default trusts only 127.0.0.1, which this rule does not count,
    because a PaaS router never connects from there. Flags given on uvicorn's command line
    are invisible here: silence deploy.W004 then.
    """
    if environ.get("UVICORN_SSL_CERTFILE", "").strip():
        return True
    if environ.get("UVICORN_PROXY_HEADERS", "").strip().lower() in _FALSE:
        return False
    trusted = environ.get("UVICORN_FORWARDED_ALLOW_IPS") or environ.get("FORWARDED_ALLOW_IPS")
    return bool(trusted and trusted.strip())
