"""The environment chooses each engine; with nothing set the site runs embedded (DESIGN.md's table).

Settings are read once per process, so each case runs in a fresh interpreter.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "S3_BUCKET", "S3_ENDPOINT_URL", "EMAIL_URL", "STRIPE_SECRET_KEY",
    "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_HTTPS", "DJANGO_ALLOWED_HOSTS", "CELERY_QUEUE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)  # fmt: skip
PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "database": settings.DATABASES["default"]["ENGINE"],
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "storage": settings.STORAGES["default"]["BACKEND"],
    "email": settings.EMAIL_BACKEND,
    "debug": settings.DEBUG,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "secret_length": len(settings.SECRET_KEY),
}))
"""


def _run(args: list[str], tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="marketplace.settings", VAR_DIR=str(tmp_path / "var"), **variables)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def _settings(tmp_path: Path, **variables: str) -> dict:
    result = _run(["-c", PROBE], tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_nothing_set_the_site_runs_embedded(tmp_path):
    resolved = _settings(tmp_path)

    assert resolved["database"] == "django.db.backends.sqlite3"
    assert resolved["broker"].startswith("filesystem://")
    assert resolved["storage"] == "django.core.files.storage.FileSystemStorage"
    assert resolved["email"] == "django.core.mail.backends.console.EmailBackend"
    assert resolved["debug"] is False
    assert (tmp_path / "var" / "broker" / "queue").is_dir()


def test_the_embedded_secret_key_is_generated_once_and_kept(tmp_path):
    first = _settings(tmp_path)
    key_file = tmp_path / "var" / "secret_key"

    assert first["secret_length"] >= 50
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    contents = key_file.read_text()
    _settings(tmp_path)
    assert key_file.read_text() == contents


def test_each_variable_switches_its_concern_to_the_production_engine(tmp_path):
    resolved = _settings(
        tmp_path,
        DATABASE_URL="postgres://user:secret@db.internal:5432/marketplace",
        REDIS_URL="redis://cache.internal:6379/0",
        S3_BUCKET="media",
        S3_ENDPOINT_URL="http://s3.internal:9000",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.internal:587",
    )

    assert resolved["database"] == "django.db.backends.postgresql"
    assert resolved["broker"] == "redis://cache.internal:6379/0"
    assert resolved["cache"] == "django_redis.cache.RedisCache"
    assert resolved["storage"] == "storages.backends.s3.S3Storage"
    assert resolved["email"] == "django.core.mail.backends.smtp.EmailBackend"


def test_https_is_enforced_whenever_debug_is_off(tmp_path):
    assert _settings(tmp_path)["ssl_redirect"] is True
    assert _settings(tmp_path, DJANGO_DEBUG="true")["ssl_redirect"] is False


PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k7#vQ2!pX9$mR4@wL8^zT1&nB6*cF3(hJ5)dG0-sY2+eU7=aI9_oK4",
    "DJANGO_ALLOWED_HOSTS": "datamarket.example.com",
}


def test_production_settings_pass_the_deployment_checklist(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deployment_checklist_catches_debug_left_on(tmp_path):
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        **{**PRODUCTION, "DJANGO_DEBUG": "true"},
    )

    assert result.returncode != 0
    assert "security.W018" in result.stderr
