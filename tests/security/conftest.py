"""A dataset whose description a reviewer saved through the curation form, published and in the catalog; the
browser tests' Chromium, watched for Content-Security-Policy violations as in tests/e2e; and tasks run in
process for the webhook attacks."""

import pytest

from datasets.models import Dataset
from tests.datasets.conftest import photo_bytes, publish_first_version, store_sellable
from tests.e2e.conftest import browser, page  # noqa: F401 (fixtures; the one Chromium is tests/conftest.py's)
from tests.marketplace.revocation_helpers import tasks_in_process  # noqa: F401 - fixture


def curation_form(description: str) -> dict[str, str]:
    return {
        "title": "Street scenes",
        "slug": "street-scenes",
        "description": description,
        "category": "street",
        "intended_uses": "Training scene classifiers.",
        "media_type": "image",
        "exclude_near_duplicates": "on",
        "offer_research": "on",
        "price_research": "250.00",
    }


@pytest.fixture
def published_with_description(client, reviewer, media_root):
    """Save `description` as a reviewer through the curation form, publish a version, and log out."""

    def publish(description: str) -> Dataset:
        store_sellable(photo_bytes(1), category="street")
        client.force_login(reviewer)
        response = client.post("/curation/new/", curation_form(description))
        assert response.status_code == 302, response.content.decode()
        dataset = Dataset.objects.get(slug="street-scenes")
        assert dataset.description == description
        publish_first_version(dataset)
        client.logout()
        return dataset

    return publish
