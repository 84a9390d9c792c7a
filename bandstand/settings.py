"""The one typed settings object, read from the environment and an optional `.env` file.

Every variable is documented in `.env.example` and in the README. A malformed value stops
start-up with a `SettingsError` whose text is one line naming the variable and what is accepted.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from dotenv import dotenv_values

from bandstand.ai.prices import PriceError, price_table

Environment = Literal["development", "production", "test"]
StorageBackend = Literal["filesystem", "database", "s3"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]
EmailBackendName = Literal["console", "smtp", "memory"]

DEFAULT_DATABASE_URL = "sqlite:///data/bandstand.sqlite3"
# Anyone can read this key in the source: it is refused in production.
DEVELOPMENT_SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105
MIN_PRODUCTION_SECRET_KEY_LENGTH = 32

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message is one line for the operator."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    # The project's folder: where `.env`, `templates/`, `static/` and relative paths
    # (`sqlite:///data/…`, MEDIA_ROOT) are found. By default the current directory, where
    # `piccolo` and `uvicorn main:app` run.
    project_root: str = "."
    database_url: str = DEFAULT_DATABASE_URL
    database_pool_min: Annotated[int, msgspec.Meta(ge=0)] = 0
    database_pool_max: Annotated[int, msgspec.Meta(ge=1)] = 10
    secret_key: str = DEVELOPMENT_SECRET_KEY
    environment: Environment = "development"
    debug: bool = False
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "[::1]")
    log_level: LogLevel = "INFO"
    # json: one object per line on stdout, for a platform's log collector. `load_settings`
    # makes json the default when ENVIRONMENT=production.
    log_format: LogFormat = "text"
    signup_enabled: bool = False
    session_idle_minutes: Annotated[int, msgspec.Meta(ge=1)] = 120
    session_max_age_hours: Annotated[int, msgspec.Meta(ge=1)] = 24 * 7
    login_failures_per_account: Annotated[int, msgspec.Meta(ge=1)] = 5
    login_failures_per_client: Annotated[int, msgspec.Meta(ge=1)] = 20
    login_throttle_minutes: Annotated[int, msgspec.Meta(ge=1)] = 15
    # A password reset link works this long, once. Requests for one are limited per address and
    # per client within LOGIN_THROTTLE_MINUTES.
    password_reset_minutes: Annotated[int, msgspec.Meta(ge=1)] = 60
    password_resets_per_address: Annotated[int, msgspec.Meta(ge=1)] = 3
    password_resets_per_client: Annotated[int, msgspec.Meta(ge=1)] = 20
    # Sign-up and an address change e-mail a link that confirms the address; it works this
    # long. Until its address is confirmed, an account cannot use the paths listed here (each
    # with everything under it, such as /chat), and may ask for EMAIL_LINKS_PER_ACCOUNT links
    # (resends and address changes) within LOGIN_THROTTLE_MINUTES.
    email_confirmation_hours: Annotated[int, msgspec.Meta(ge=1)] = 72
    require_verified_email_for: tuple[str, ...] = ()
    email_links_per_account: Annotated[int, msgspec.Meta(ge=1)] = 3
    # Staff (and superusers) turn on two-factor sign-in before they reach /admin or any staff
    # page. `load_settings` makes it the default when ENVIRONMENT=production.
    staff_require_2fa: bool = False
    # API tokens (/account/tokens): requests per minute each, per app instance; the longest life
    # a token may be given.
    api_token_requests_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 120
    api_token_max_days: Annotated[int, msgspec.Meta(ge=1)] = 365
    # Sign-in with another account (bandstand/accounts/oidc.py): each provider is on once its
    # client id is set. GitHub Enterprise Server at OIDC_GITHUB_URL; any OpenID Connect issuer
    # at OIDC_ISSUER, read from its discovery document. A first sign-in whose verified address
    # no account has makes one only when SIGNUP_ENABLED.
    oidc_google_client_id: str = ""
    oidc_google_client_secret: str = ""
    oidc_github_client_id: str = ""
    oidc_github_client_secret: str = ""
    oidc_github_url: str = "https://github.com"
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_label: str = "Single sign-on"
    # /ops: migrations, the deploy check, demo data, backups and password resets from the browser,
    # for hosts without a shell (bandstand/ops/). Superusers with two-factor sign-in only.
    ops_page_enabled: bool = False
    # The audit log's entries are deleted this long after they were written, every night.
    audit_retention_days: Annotated[int, msgspec.Meta(ge=1)] = 365
    # The chat's LLM: any OpenAI-compatible chat-completions API. Without a key, a built-in
    # offline provider answers, so the demo works with no network.
    llm_base_url: str = "https://openrouter.ai/api/v1"
    llm_api_key: str = ""
    llm_model: str = "openrouter/auto"
    llm_connect_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    llm_read_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    llm_offline_token_delay_ms: Annotated[int, msgspec.Meta(ge=0)] = 40
    # Embeddings (bandstand/ai/embeddings.py): any OpenAI-compatible /embeddings API, asked for
    # vectors of EMBEDDING_DIMENSIONS, EMBEDDING_BATCH texts a request. Without a key, a built-in
    # offline embedder (no network, no weights) gives them.
    embedding_base_url: str = "https://api.openai.com/v1"
    embedding_api_key: str = ""
    embedding_model: str = "text-embedding-3-small"
    embedding_dimensions: Annotated[int, msgspec.Meta(ge=2, le=4096)] = 256
    embedding_batch: Annotated[int, msgspec.Meta(ge=1, le=2048)] = 64
    # What each model costs, per million tokens, prompt/completion: "gpt-4o-mini=0.15/0.60,…"
    # (bandstand/ai/prices.py). A model not listed costs 0.
    ai_prices: tuple[str, ...] = ()
    # What each user may spend on AI calls per UTC day and month, in tokens and in the price
    # table's money; 0 is no limit. Overridden per user or group in the admin (AI budgets).
    ai_budget_daily_tokens: Annotated[int, msgspec.Meta(ge=0)] = 0
    ai_budget_monthly_tokens: Annotated[int, msgspec.Meta(ge=0)] = 0
    ai_budget_daily_cost: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    ai_budget_monthly_cost: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    # Where uploaded files live: a folder (MEDIA_ROOT), the database (for a PaaS whose disk is
    # read-only or wiped on deploy) or an S3-compatible bucket.
    storage_backend: StorageBackend = "filesystem"
    media_root: str = "data/media"
    upload_max_bytes: Annotated[int, msgspec.Meta(ge=1)] = 5 * 1024 * 1024
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    # Outgoing e-mail, with Django's names: printed to stdout (console), kept in memory for
    # tests (memory), or sent by SMTP.
    email_backend: EmailBackendName = "console"
    email_host: str = "localhost"
    email_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 25
    email_host_user: str = ""
    email_host_password: str = ""
    # STARTTLS on a plain connection (port 587), or TLS from the first byte (port 465).
    email_use_tls: bool = False
    email_use_ssl: bool = False
    email_timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    default_from_email: str = "webmaster@localhost"
    # Where the site is reached from outside, for the absolute links in e-mails.
    site_url: str = "http://127.0.0.1:8000"
    # Background jobs (bandstand/jobs/, docs/jobs.md). In the web process itself: by default
    # in development only; elsewhere `piccolo project worker` runs them. `load_settings` sets
    # the default from ENVIRONMENT.
    jobs_in_process: bool = False
    # The queue's own database: by default a SQLite file beside DATABASE_URL's, or the `dbos`
    # schema in DATABASE_URL's PostgreSQL database.
    jobs_database_url: str = ""
    jobs_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 10
    jobs_poll_seconds: Annotated[float, msgspec.Meta(gt=0)] = 0.1
    # A worker whose heartbeat is older than this is dead: its running jobs are run again.
    jobs_lease_seconds: Annotated[int, msgspec.Meta(ge=2)] = 30
    # Finished jobs (done, failed, cancelled) are deleted this long after they end.
    jobs_keep_days: Annotated[int, msgspec.Meta(ge=1)] = 14
    # Where backups taken from the staff page (/jobs) are written, for superusers to download.
    backup_root: str = "data/backups"
    # For `piccolo project superuser`, the non-interactive way of PaaS release steps.
    superuser_username: str = ""
    superuser_email: str = ""
    superuser_password: str = ""

    @property
    def root(self) -> Path:
        return Path(self.project_root)

    def path(self, setting: str) -> Path:
        """A path a setting names, relative to the project's folder unless absolute."""
        return self.root / setting

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def max_request_bytes(self) -> int:
        """The largest request body read: room for the largest upload plus the rest of its
        form."""
        return max(10 * 1024 * 1024, self.upload_max_bytes + 1024 * 1024)


_FIELDS = {field.encode_name: field for field in msgspec.structs.fields(Settings)}


def _accepted(type_: Any) -> str:
    """Describe, for an error message, what a field's type accepts."""
    info = msgspec.inspect.type_info(type_)
    if isinstance(info, msgspec.inspect.BoolType):
        return "true or false (also 1/0, yes/no, on/off)"
    if isinstance(info, msgspec.inspect.LiteralType):
        return "one of " + ", ".join(str(value) for value in info.values)
    if isinstance(info, msgspec.inspect.IntType):
        if info.ge is not None and info.le is not None:
            return f"a whole number from {info.ge} to {info.le}"
        return "a whole number" + (f" of at least {info.ge}" if info.ge is not None else "")
    if isinstance(info, msgspec.inspect.FloatType):
        if info.ge is not None:
            return f"a number of at least {info.ge:g}"
        return "a number" + (f" above {info.gt:g}" if info.gt is not None else "")
    if isinstance(info, msgspec.inspect.VarTupleType):
        return "a comma-separated list"
    return "a string"


def _coerce(name: str, raw: str) -> Any:
    """Turn an environment string into what msgspec expects for the field."""
    info = msgspec.inspect.type_info(_FIELDS[name].type)
    if isinstance(info, msgspec.inspect.BoolType):
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    if isinstance(info, msgspec.inspect.VarTupleType):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if isinstance(info, msgspec.inspect.LiteralType) and name == "LOG_LEVEL":
        return raw.strip().upper()
    if isinstance(info, msgspec.inspect.LiteralType) and name in {"LOG_FORMAT", "EMAIL_BACKEND"}:
        return raw.strip().lower()
    return raw.strip()


def _check_consistency(settings: Settings) -> None:
    if settings.database_pool_min > settings.database_pool_max:
        raise SettingsError(
            f"DATABASE_POOL_MIN={settings.database_pool_min} is not valid: expected at most "
            f"DATABASE_POOL_MAX={settings.database_pool_max}"
        )
    if settings.email_use_tls and settings.email_use_ssl:
        raise SettingsError(
            "EMAIL_USE_TLS and EMAIL_USE_SSL are both true: choose one (TLS is STARTTLS on "
            "port 587, SSL is TLS from the start on port 465)"
        )
    if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", settings.site_url):
        raise SettingsError(
            f"SITE_URL={settings.site_url!r} is not valid: expected the site's address, such "
            "as https://example.com"
        )
    for path in settings.require_verified_email_for:
        if not path.startswith("/") or path == "/":
            raise SettingsError(
                f"REQUIRE_VERIFIED_EMAIL_FOR={','.join(settings.require_verified_email_for)!r} "
                "is not valid: expected paths below the root, such as /chat,/webinars/new"
            )
    if settings.storage_backend == "s3" and not settings.s3_bucket:
        raise SettingsError("S3_BUCKET must be set when STORAGE_BACKEND=s3")
    _check_sign_in_providers(settings)
    _check_prices(settings)
    if not settings.is_production:
        return
    key = settings.secret_key
    if key == DEVELOPMENT_SECRET_KEY or len(key) < MIN_PRODUCTION_SECRET_KEY_LENGTH:
        raise SettingsError(
            "SECRET_KEY must be set to a random string of at least "
            f"{MIN_PRODUCTION_SECRET_KEY_LENGTH} characters when ENVIRONMENT=production "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if settings.debug:
        raise SettingsError("DEBUG must be false when ENVIRONMENT=production")


_SIGN_IN_PROVIDERS = {
    "OIDC_GOOGLE_CLIENT_ID": ("OIDC_GOOGLE_CLIENT_SECRET", None),
    "OIDC_GITHUB_CLIENT_ID": ("OIDC_GITHUB_CLIENT_SECRET", "OIDC_GITHUB_URL"),
    "OIDC_CLIENT_ID": ("OIDC_CLIENT_SECRET", "OIDC_ISSUER"),
}
_HTTPS_URL = re.compile(r"https://[^/?#\s]+(/[^?#\s]*)?")
_LOOPBACK_URL = re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/[^?#\s]*)?")


def _check_sign_in_providers(settings: Settings) -> None:
    """A provider that is on has its secret and an https address (plain http on loopback
    outside production, for a provider run in the tests or beside `make run`)."""
    values = msgspec.structs.asdict(settings)
    for client_id, (secret, url) in _SIGN_IN_PROVIDERS.items():
        if not values[client_id.lower()]:
            continue
        if not values[secret.lower()]:
            raise SettingsError(f"{secret} must be set when {client_id} is")
        if settings.is_production and not settings.site_url.startswith("https://"):
            raise SettingsError(
                f"SITE_URL={settings.site_url!r} is not valid with {client_id} set: providers "
                "send the browser back to SITE_URL, which must be https:// in production"
            )
        address = values[url.lower()] if url else ""
        if not url or _HTTPS_URL.fullmatch(address):
            continue
        if settings.is_production or not _LOOPBACK_URL.fullmatch(address):
            raise SettingsError(
                f"{url}={address!r} is not valid: expected an https:// address, such as "
                "https://accounts.example.com"
            )


def _check_prices(settings: Settings) -> None:
    try:
        price_table(settings.ai_prices)
    except PriceError as error:
        raise SettingsError(
            f"AI_PRICES={','.join(settings.ai_prices)!r} is not valid: {error}"
        ) from None


def env_file_of(environ: Mapping[str, str] | None = None) -> Path:
    """The `.env` file read by default: the one in the project's folder."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("PROJECT_ROOT") or ".") / ".env"


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | Literal["default"] | None = "default"
) -> Settings:
    """Read settings: the process environment wins over the `.env` file (by default the
    project folder's)."""
    if env_file == "default":
        env_file = env_file_of(environ)
    values: dict[str, str | None] = {}
    if env_file is not None and env_file.is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ if environ is None else environ)

    data = {name: _coerce(name, raw) for name, raw in values.items() if name in _FIELDS and raw}
    try:
        settings = msgspec.convert(data, Settings, strict=False)
    except msgspec.ValidationError as error:
        path = re.search(r"\$\.(\w+)", str(error))
        field = _FIELDS.get(path.group(1)) if path else None
        if field is None:  # msgspec reports the failing path; this is a safety net
            raise SettingsError(f"invalid setting: {error}") from None
        name = field.encode_name
        raise SettingsError(
            f"{name}={values[name]!r} is not valid: expected {_accepted(field.type)}"
        ) from None
    if "LOG_FORMAT" not in data and settings.is_production:
        settings = msgspec.structs.replace(settings, log_format="json")
    if "STAFF_REQUIRE_2FA" not in data and settings.is_production:
        settings = msgspec.structs.replace(settings, staff_require_2fa=True)
    if "JOBS_IN_PROCESS" not in data and settings.environment == "development":
        settings = msgspec.structs.replace(settings, jobs_in_process=True)
    _check_consistency(settings)
    return settings


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
