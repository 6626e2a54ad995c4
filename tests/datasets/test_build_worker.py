"""Bundle builds through a real Celery worker (tests/drills kills one again and again mid-build)."""

import pytest

from datasets import services
from datasets.models import BundleFile, DatasetVersion

pytestmark = pytest.mark.worker


def test_a_build_requested_on_the_page_is_built_by_the_worker(live_worker, offered_dataset, sellable_video):
    sellable_video()
    version = services.version_build_request(dataset=offered_dataset(), actor=None)

    live_worker.wait_for(lambda: _published(version), timeout=60)

    assert version.files.filter(kind=BundleFile.Kind.SHARD, series="videos").count() == 1


def _published(version: DatasetVersion) -> bool:
    version.refresh_from_db()
    return version.status == DatasetVersion.Status.PUBLISHED
