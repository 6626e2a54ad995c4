"""docker-compose.yml and the Dockerfile agree with what the settings and the Celery app expect.

No Docker engine runs where the tests run, so the files are read and checked against the code instead.
"""

import ast
import importlib
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from celery.app.utils import find_app

import marketplace

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("proxy", "web", "worker", "beat", "postgres", "redis", "minio")
# Variables the compose file must set for the site to run on its production engines.
REQUIRED_APP_VARIABLES = {
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _variables_read_by_settings() -> set[str]:
    """Every environment variable name marketplace/settings.py reads through django-environ."""
    tree = ast.parse((ROOT / "marketplace" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


def _resolved(value: str) -> str:
    """A compose value with ${NAME:-default} and ${NAME:?message} replaced by a sample value."""
    return re.sub(r"\$\{(\w+)(?::[-?]([^}]*))?\}", lambda m: f"sample-{m.group(1).lower()}", value)


def test_the_topology_has_every_service(compose):
    assert set(compose["services"]) == {*APP_SERVICES, "proxy", "postgres", "redis", "minio", "minio-bucket"}


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_every_long_running_service_has_a_health_check(compose, service):
    assert compose["services"][service]["healthcheck"]["test"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_set_only_variables_the_settings_read(compose, service):
    environment = compose["services"][service]["environment"]

    assert set(environment) <= _variables_read_by_settings()
    assert set(environment) >= REQUIRED_APP_VARIABLES
    assert environment["DJANGO_DEBUG"] == "false"


def test_web_worker_and_beat_share_one_environment(compose):
    environments = [compose["services"][name]["environment"] for name in APP_SERVICES]

    assert all(environment == environments[0] for environment in environments)


def test_web_runs_gunicorn_on_the_wsgi_application_the_image_exposes(compose):
    command = compose["services"]["web"]["command"]
    module, attribute = command[command.index("gunicorn") + 1].split(":")

    assert getattr(importlib.import_module(module), attribute) is not None
    bind_port = command[command.index("--bind") + 1].rsplit(":", 1)[1]
    assert compose["services"]["web"]["expose"] == [bind_port]
    assert f"EXPOSE {bind_port}" in (ROOT / "Dockerfile").read_text()


def test_web_is_reached_only_through_the_one_proxy_its_client_address_trusts(compose):
    web, proxy = compose["services"]["web"], compose["services"]["proxy"]
    bind_port = web["command"][web["command"].index("--bind") + 1].rsplit(":", 1)[1]

    assert "ports" not in web
    assert proxy["command"][proxy["command"].index("--to") + 1] == f"web:{bind_port}"
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "${TRUSTED_PROXY_COUNT:-1}"


@pytest.mark.parametrize(("service", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_celery_services_start_the_projects_celery_app(compose, service, subcommand):
    command = compose["services"][service]["command"]

    assert command[:2] == ["celery", "-A"]
    assert find_app(command[2]) is marketplace.celery_app
    assert command[3] == subcommand


def test_the_database_url_names_the_postgres_service_database_and_user(compose):
    url = urlsplit(_resolved(compose["services"]["web"]["environment"]["DATABASE_URL"]))
    postgres = compose["services"]["postgres"]["environment"]

    assert (url.hostname, url.port) == ("postgres", 5432)
    assert url.username == postgres["POSTGRES_USER"]
    assert url.path.lstrip("/") == postgres["POSTGRES_DB"]
    assert (
        compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
        == "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    )
    assert "${POSTGRES_PASSWORD:?" in compose["services"]["web"]["environment"]["DATABASE_URL"]


def test_the_broker_is_the_redis_service(compose):
    assert urlsplit(compose["services"]["worker"]["environment"]["REDIS_URL"]).hostname == "redis"


def test_the_bucket_the_site_uses_is_the_one_created_in_minio(compose):
    environment = compose["services"]["web"]["environment"]
    bucket_command = " ".join(compose["services"]["minio-bucket"]["command"])

    assert urlsplit(environment["S3_ENDPOINT_URL"]).hostname == "minio"
    assert f"mb --ignore-existing store/{environment['S3_BUCKET']}" in bucket_command
    assert environment["S3_ACCESS_KEY_ID"] == compose["services"]["minio"]["environment"]["MINIO_ROOT_USER"]
    assert (
        environment["S3_SECRET_ACCESS_KEY"]
        == compose["services"]["minio"]["environment"]["MINIO_ROOT_PASSWORD"]
    )


def test_the_site_starts_only_once_migrations_ran_and_its_services_are_healthy(compose):
    depends_on = compose["services"]["web"]["depends_on"]

    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["minio-bucket"]["condition"] == "service_completed_successfully"
    assert depends_on["postgres"]["condition"] == depends_on["redis"]["condition"] == "service_healthy"
    assert compose["services"]["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_the_image_uses_the_python_the_project_runs_on_and_no_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r"^FROM python:3\.11", dockerfile, re.MULTILINE)
    assert re.search(r"^USER app$", dockerfile, re.MULTILINE)
    assert "collectstatic" in dockerfile
