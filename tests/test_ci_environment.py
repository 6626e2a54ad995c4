"""In CI the suite must run on the production engines: PostgreSQL and a Redis broker."""

import os
import shutil

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.skipif(not os.environ.get("CI"), reason="checks CI's own environment")


def test_ci_runs_the_suite_on_postgresql():
    assert connection.vendor == "postgresql"


def test_ci_sends_tasks_through_redis():
    assert settings.CELERY_BROKER_URL.startswith("redis://")


def test_ci_has_exiftool_so_the_delivery_checks_run():
    # tests/datasets/test_deliveries.py skips without it; in CI it must run.
    assert shutil.which("exiftool")
