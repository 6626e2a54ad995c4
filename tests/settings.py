"""Settings for the test suite: the production settings, with HTTPS redirects off and a fast password hasher.

Worker processes started by the tests import this module too, so everything here must hold in both.
"""

import os
import tempfile
import uuid
from pathlib import Path

_root = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_HTTPS", "false")
os.environ.setdefault("VAR_DIR", str(_root / "var" / "test"))
# A queue of this test run's own, inherited by the workers it starts, so that a worker left running by
# `make run` on the same broker never takes the tests' tasks.
os.environ.setdefault("CELERY_QUEUE", f"tests-{uuid.uuid4().hex[:12]}")
# mlcroissant keeps the archives it extracts under its cache by their file name: the bundles tests build reuse
# shard names with other contents, so each run (and the buyer snippets it runs) gets a cache of its own.
os.environ.setdefault("CROISSANT_CACHE", tempfile.mkdtemp(prefix="croissant-cache-"))

from marketplace.settings import *  # noqa: E402, F403
from marketplace.settings import DATABASES, STORAGES, VAR_DIR  # noqa: E402

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# A test database of this run's own (the id is inherited by the workers it starts, like the queue above), so
# two runs in one checkout, or on one PostgreSQL server, never share one.
_RUN = os.environ.setdefault("TEST_RUN_ID", uuid.uuid4().hex[:8])
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not SQLite's in-memory default, so a worker process started by a test sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{_RUN}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_RUN}"}

# Serve static files from the apps' folders, as in development, instead of a collectstatic run.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Each test process keeps its own cache (API throttling counts), cleared after every test (tests/conftest.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
