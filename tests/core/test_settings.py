"""Settings come from the environment; a bad value stops start-up with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from core.settings import APP_ROLE, Settings, SettingsError, load_settings

GOOD_SECRET = "s" * 32


def test_an_empty_environment_gives_the_development_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.env == "development"
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.secret_key is None
    assert settings.log_level == "INFO"


def test_variables_are_read_by_upper_case_name() -> None:
    settings = load_settings(
        {
            "ENV": "test",
            "PORT": "9001",
            "SECRET_KEY": GOOD_SECRET,
            "DATABASE_URL": "postgresql://owner:pw@db:5432/care",
            "ACCESS_TOKEN_TTL_SECONDS": "60",
            "LOG_LEVEL": "DEBUG",
            "UNRELATED": "ignored",
        }
    )
    assert settings.env == "test"
    assert settings.port == 9001
    assert settings.jwt_secret() == GOOD_SECRET
    assert settings.owner_dsn() == "postgresql://owner:pw@db:5432/care"
    assert settings.access_token_ttl_seconds == 60
    assert settings.log_level == "DEBUG"


def test_an_empty_value_counts_as_unset() -> None:
    assert load_settings({"PORT": "", "DATABASE_URL": ""}) == Settings()


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        pytest.param({"PORT": "abc"}, "PORT", id="port-not-a-number"),
        pytest.param({"PORT": "70000"}, "PORT", id="port-too-big"),
        pytest.param({"PORT": "0"}, "PORT", id="port-zero"),
        pytest.param({"PORT": "80.5"}, "PORT", id="port-fraction"),
        pytest.param({"SECRET_KEY": "too-short"}, "SECRET_KEY", id="short-secret"),
        pytest.param({"SECRET_KEY": "x" * 31}, "SECRET_KEY", id="secret-one-short"),
        pytest.param({"ENV": "staging"}, "ENV", id="unknown-env"),
        pytest.param({"LOG_LEVEL": "chatty"}, "LOG_LEVEL", id="unknown-log-level"),
        pytest.param({"ACCESS_TOKEN_TTL_SECONDS": "5"}, "ACCESS_TOKEN_TTL_SECONDS", id="ttl-too-short"),
        pytest.param({"DB_POOL_MAX_SIZE": "many"}, "DB_POOL_MAX_SIZE", id="pool-not-a-number"),
        pytest.param({"APP_DB_PASSWORD": "short"}, "APP_DB_PASSWORD", id="short-app-password"),
    ],
)
def test_a_malformed_value_is_an_error_naming_its_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(environ)
    assert variable in str(error.value)
    assert "$." not in str(error.value), "speak in variable names, not msgspec paths"


def test_a_secret_key_of_32_characters_is_enough() -> None:
    assert load_settings({"SECRET_KEY": "x" * 32}).jwt_secret() == "x" * 32


def test_production_needs_database_redis_and_secret() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"ENV": "production"})
    for variable in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        assert variable in str(error.value)


def test_production_names_only_what_is_missing() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"ENV": "production", "DATABASE_URL": "postgresql://o:p@db/care", "SECRET_KEY": GOOD_SECRET})
    assert "REDIS_URL" in str(error.value)
    assert "DATABASE_URL" not in str(error.value)
    assert "SECRET_KEY" not in str(error.value)


def test_production_with_everything_set_loads() -> None:
    settings = load_settings(
        {
            "ENV": "production",
            "DATABASE_URL": "postgresql://o:p@db/care",
            "REDIS_URL": "redis://cache:6379/0",
            "SECRET_KEY": GOOD_SECRET,
        }
    )
    assert settings.env == "production"


def test_missing_secret_and_database_are_reported_when_used() -> None:
    settings = load_settings({})
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        settings.jwt_secret()
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        settings.app_dsn()


# -- the app role's DSN ----------------------------------------------------------------------------------------


def test_app_dsn_from_a_tcp_url_swaps_only_the_credentials() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://admin:hunter2@db.internal:6543/care?sslmode=require",
            "APP_DB_PASSWORD": "app-pw-1234",
        }
    )
    dsn = urlsplit(settings.app_dsn())
    assert dsn.scheme == "postgresql"
    assert (dsn.username, dsn.password) == (APP_ROLE, "app-pw-1234")
    assert (dsn.hostname, dsn.port) == ("db.internal", 6543)
    assert dsn.path == "/care"
    assert parse_qs(dsn.query) == {"sslmode": ["require"]}
    assert "hunter2" not in settings.app_dsn()
    assert "admin" not in settings.app_dsn()


def test_app_dsn_from_a_unix_socket_url_keeps_the_socket_directory() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://postgres:@/postgres?host=/tmp/x"})
    app_dsn = settings.app_dsn()
    dsn = urlsplit(app_dsn)
    assert (dsn.username, dsn.password) == (APP_ROLE, settings.app_db_password)
    assert dsn.hostname is None
    assert dsn.path == "/postgres"
    assert parse_qs(dsn.query) == {"host": ["/tmp/x"]}
    assert app_dsn == f"postgresql://{APP_ROLE}:{settings.app_db_password}@/postgres?host=/tmp/x"


def test_app_dsn_escapes_a_password_with_url_characters() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://o:p@[::1]:5432/care", "APP_DB_PASSWORD": "p@ss/w:rd#1?"})
    dsn = urlsplit(settings.app_dsn())
    assert dsn.hostname == "::1"
    assert dsn.port == 5432
    assert dsn.username == APP_ROLE
    assert dsn.password is not None
    assert unquote(dsn.password) == "p@ss/w:rd#1?"


def test_an_explicit_app_database_url_wins() -> None:
    explicit = "postgresql://someone:else@elsewhere/care"
    settings = load_settings({"DATABASE_URL": "postgresql://o:p@db/care", "APP_DATABASE_URL": explicit})
    assert settings.app_dsn() == explicit


# -- the command line ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PORT", "abc"), ("PORT", "70000"), ("SECRET_KEY", "short")],
)
def test_the_cli_reports_a_configuration_error_and_exits_2(variable: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "serve"],
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith(f"configuration error: {variable}"), result.stderr
    assert "Traceback" not in result.stderr


def test_passwords_hash_with_rfc_9106_unless_a_test_run_asks_for_the_cheapest() -> None:
    assert load_settings({}).password_hash_profile == "rfc9106_low_memory"
    assert load_settings({"PASSWORD_HASH_PROFILE": "cheapest"}).password_hash_profile == "cheapest"
    production = {
        "ENV": "production",
        "DATABASE_URL": "postgresql://db/x",
        "REDIS_URL": "redis://r",
        "SECRET_KEY": "s" * 32,
    }
    with pytest.raises(SettingsError, match="PASSWORD_HASH_PROFILE"):
        load_settings({**production, "PASSWORD_HASH_PROFILE": "cheapest"})
    with pytest.raises(SettingsError, match="PASSWORD_HASH_PROFILE"):
        load_settings({"PASSWORD_HASH_PROFILE": "md5"})


def test_a_hash_of_either_profile_verifies_and_a_standard_one_is_rehashed_under_the_test_profile() -> None:
    from argon2 import PasswordHasher

    from core.auth.passwords import hash_password, needs_rehash, verify_password

    standard = PasswordHasher().hash("correct horse")
    assert verify_password(standard, "correct horse")
    assert not verify_password(standard, "wrong horse")
    assert needs_rehash(standard)  # this test run hashes with the cheapest profile
    cheap = hash_password("correct horse")
    assert cheap.startswith("$argon2id$")
    assert not needs_rehash(cheap)
    assert verify_password(cheap, "correct horse")


def test_portal_settings_parse_and_production_keeps_cookies_secure() -> None:
    settings = load_settings({"PORTAL_COOKIE_SECURE": "false", "PORTAL_IDLE_TIMEOUT_SECONDS": "600"})
    assert settings.portal_cookie_secure is False
    assert settings.portal_idle_timeout_seconds == 600
    assert load_settings({}).portal_cookie_secure is True
    with pytest.raises(SettingsError, match="PORTAL_COOKIE_SECURE"):
        load_settings({"PORTAL_COOKIE_SECURE": "maybe"})
    with pytest.raises(SettingsError, match="PORTAL_IDLE_TIMEOUT_SECONDS"):
        load_settings({"PORTAL_IDLE_TIMEOUT_SECONDS": "5"})
    production = {
        "ENV": "production",
        "DATABASE_URL": "postgresql://x/y",
        "REDIS_URL": "redis://x",
        "SECRET_KEY": "k" * 40,
    }
    assert load_settings(production).portal_cookie_secure is True
    with pytest.raises(SettingsError, match="PORTAL_COOKIE_SECURE"):
        load_settings({**production, "PORTAL_COOKIE_SECURE": "false"})
