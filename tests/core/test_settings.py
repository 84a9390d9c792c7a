from pathlib import Path

import msgspec
import pytest

from bandstand.settings import (
    DEFAULT_DATABASE_URL,
    DEVELOPMENT_SECRET_KEY,
    Settings,
    SettingsError,
    load_settings,
)

pytestmark = pytest.mark.engine_independent

STRONG_KEY = "k" * 48


def test_defaults_with_an_empty_environment() -> None:
    settings = load_settings({}, env_file=None)
    # Development runs its jobs in the web process (Settings() is what any environment starts
    # from).
    assert settings == msgspec.structs.replace(Settings(), jobs_in_process=True)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.environment == "development"
    assert settings.debug is False
    assert settings.allowed_hosts == ("localhost", "127.0.0.1", "[::1]")


@pytest.mark.parametrize(
    ("environ", "in_process"),
    [
        ({}, True),
        ({"JOBS_IN_PROCESS": "false"}, False),
        ({"ENVIRONMENT": "test"}, False),
        ({"ENVIRONMENT": "test", "JOBS_IN_PROCESS": "on"}, True),
    ],
)
def test_jobs_run_in_the_web_process_by_default_in_development_only(
    environ: dict[str, str], in_process: bool
) -> None:
    assert load_settings(environ, env_file=None).jobs_in_process is in_process


@pytest.mark.parametrize(
    ("environ", "required"),
    [
        ({}, False),
        ({"ENVIRONMENT": "production", "SECRET_KEY": STRONG_KEY}, True),
        (
            {"ENVIRONMENT": "production", "SECRET_KEY": STRONG_KEY, "STAFF_REQUIRE_2FA": "off"},
            False,
        ),
        ({"STAFF_REQUIRE_2FA": "yes"}, True),
    ],
)
def test_staff_need_a_second_factor_by_default_in_production_only(
    environ: dict[str, str], required: bool
) -> None:
    assert load_settings(environ, env_file=None).staff_require_2fa is required


def test_values_are_parsed_into_their_types() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://u@db/app",
            "DATABASE_POOL_MIN": "2",
            "DATABASE_POOL_MAX": "20",
            "DEBUG": "Yes",
            "ALLOWED_HOSTS": "example.com, www.example.com ,",
            "LOG_LEVEL": "warning",
            "ENVIRONMENT": "test",
            "UNRELATED": "ignored",
        },
        env_file=None,
    )
    assert settings.database_url == "postgresql://u@db/app"
    assert (settings.database_pool_min, settings.database_pool_max) == (2, 20)
    assert settings.debug is True
    assert settings.allowed_hosts == ("example.com", "www.example.com")
    assert settings.log_level == "WARNING"
    assert settings.environment == "test"


def test_the_email_settings_are_parsed() -> None:
    settings = load_settings(
        {
            "EMAIL_BACKEND": "SMTP",
            "EMAIL_HOST": "smtp.example.com",
            "EMAIL_PORT": "587",
            "EMAIL_USE_TLS": "yes",
            "EMAIL_TIMEOUT": "2.5",
            "SITE_URL": "https://example.com/app",
        },
        env_file=None,
    )
    assert (settings.email_backend, settings.email_host, settings.email_port) == (
        "smtp",
        "smtp.example.com",
        587,
    )
    assert (settings.email_use_tls, settings.email_use_ssl) == (True, False)
    assert settings.email_timeout == 2.5
    assert settings.site_url == "https://example.com/app"


@pytest.mark.parametrize("value", ["0", "false", "No", "off", ""])
def test_false_spellings(value: str) -> None:
    assert load_settings({"DEBUG": value}, env_file=None).debug is False


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LOG_LEVEL=DEBUG\nDATABASE_URL=sqlite:///from-file.db\n")
    settings = load_settings({"LOG_LEVEL": "ERROR"}, env_file=env_file)
    assert settings.database_url == "sqlite:///from-file.db"
    assert settings.log_level == "ERROR"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not valid: expected true or false"),
        (
            {"ENVIRONMENT": "staging"},
            "ENVIRONMENT='staging' is not valid: expected one of development, production, test",
        ),
        (
            {"LOG_LEVEL": "loud"},
            "LOG_LEVEL='loud' is not valid: expected one of CRITICAL, DEBUG, ERROR, INFO, WARNING",
        ),
        ({"DATABASE_POOL_MAX": "ten"}, "DATABASE_POOL_MAX='ten' is not valid: expected a whole"),
        (
            {"DATABASE_POOL_MAX": "0"},
            "DATABASE_POOL_MAX='0' is not valid: expected a whole number of at least 1",
        ),
        (
            {"DATABASE_POOL_MIN": "-1"},
            "DATABASE_POOL_MIN='-1' is not valid: expected a whole number of at least 0",
        ),
        (
            {"DATABASE_POOL_MIN": "5", "DATABASE_POOL_MAX": "2"},
            "DATABASE_POOL_MIN=5 is not valid: expected at most DATABASE_POOL_MAX=2",
        ),
        (
            {"STORAGE_BACKEND": "disk"},
            "STORAGE_BACKEND='disk' is not valid: expected one of database, filesystem, s3",
        ),
        ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET must be set when STORAGE_BACKEND=s3"),
        (
            {"EMAIL_BACKEND": "sendmail"},
            "EMAIL_BACKEND='sendmail' is not valid: expected one of console, memory, smtp",
        ),
        (
            {"EMAIL_PORT": "70000"},
            "EMAIL_PORT='70000' is not valid: expected a whole number from 1 to 65535",
        ),
        (
            {"EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"},
            "EMAIL_USE_TLS and EMAIL_USE_SSL are both true: choose one",
        ),
        ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT='0' is not valid: expected a number above 0"),
        ({"SITE_URL": "example.com"}, "SITE_URL='example.com' is not valid"),
        ({"SITE_URL": "https://example.com/a b"}, "SITE_URL='https://example.com/a b' is not"),
        ({"SITE_URL": "javascript:alert(1)//x"}, "SITE_URL='javascript:alert(1)//x' is not"),
        ({"UPLOAD_MAX_BYTES": "0"}, "UPLOAD_MAX_BYTES='0' is not valid: expected a whole number"),
        ({"ENVIRONMENT": "production"}, "SECRET_KEY must be set"),
        ({"ENVIRONMENT": "production", "SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        (
            {"ENVIRONMENT": "production", "SECRET_KEY": DEVELOPMENT_SECRET_KEY},
            "SECRET_KEY must be set",
        ),
        (
            {"ENVIRONMENT": "production", "SECRET_KEY": STRONG_KEY, "DEBUG": "true"},
            "DEBUG must be false when ENVIRONMENT=production",
        ),
        ({"REQUIRE_VERIFIED_EMAIL_FOR": "/chat,webinars"}, "expected paths below the root"),
        ({"REQUIRE_VERIFIED_EMAIL_FOR": "/"}, "expected paths below the root"),
    ],
)
def test_bad_values_give_one_clear_line(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ, env_file=None)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_production_with_a_strong_key() -> None:
    settings = load_settings({"ENVIRONMENT": "production", "SECRET_KEY": STRONG_KEY}, env_file=None)
    assert settings.is_production
