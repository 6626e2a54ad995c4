"""Rotating the signing key: what the old key signed (certificates, bundles) keeps verifying against its
public half, which the site still publishes (SIGNING_KEYS_RETIRED), and every check says which key it was."""

import re
from pathlib import Path

import pytest
from datamarket import bundle as client_bundle
from datamarket.api import Api
from django.core.files.storage import default_storage
from django.urls import reverse

from datasets.models import DatasetVersion
from datasets.packaging.checksums import (
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_key_id,
    public_key_pem,
    verify_bundle,
)
from datasets.signing_key import published_keys
from marketplace.models import LicenseGrant
from marketplace.services import orders
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db


class Key:
    """An Ed25519 key pair as an operator handles it: the private PEM for SIGNING_KEY, the public one to retire."""

    def __init__(self) -> None:
        self.private_pem = generate_private_key_pem().decode()
        private = load_private_key(self.private_pem.encode())
        self.key_id = public_key_id(private.public_key())
        self.public_pem = public_key_pem(private).decode()


@pytest.fixture
def old_key(settings) -> Key:
    """The key the site signs with until the test rotates it."""
    key = Key()
    settings.SIGNING_KEY = key.private_pem
    settings.SIGNING_KEYS_RETIRED = ""
    return key


def _rotate(settings, *retired: Key) -> Key:
    """A rotation as docs/operations.md describes it: a new SIGNING_KEY, the old public halves retired."""
    new = Key()
    settings.SIGNING_KEY = new.private_pem
    settings.SIGNING_KEYS_RETIRED = "".join(key.public_pem for key in retired)
    return new


def _granted(version: DatasetVersion, buyer) -> LicenseGrant:
    order = orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="research")
    return orders.order_pay_test(order=order, buyer=buyer)


@pytest.fixture
def on_sale(media_root, old_key) -> DatasetVersion:
    """A published version whose bundle the old key signed."""
    return put_on_sale()


def test_a_certificate_signed_before_a_rotation_verifies_against_the_retired_key(
    client, settings, on_sale, old_key, buyer
):
    grant = _granted(on_sale, buyer)
    _rotate(settings, old_key)

    page = client.get(reverse("certificate", args=[grant.public_id])).content.decode()
    document = client.get(reverse("certificate-json", args=[grant.public_id])).json()
    client.force_login(buyer)
    api_document = client.get(reverse("api-license-certificate", args=[grant.public_id])).json()

    assert "Valid." in page and "retired" in page and old_key.key_id in page
    for answer in (document, api_document):
        assert (answer["key_id"], answer["key_status"]) == (old_key.key_id, "retired")
        assert answer["public_key_url"].endswith(f"/signing-keys/{old_key.key_id}.pem")


def test_a_rotation_that_does_not_retire_the_old_key_leaves_its_certificates_unverifiable(
    client, settings, on_sale, old_key, buyer
):
    """Why SIGNING_KEYS_RETIRED matters: without it, yesterday's certificates read as forgeries."""
    grant = _granted(on_sale, buyer)
    _rotate(settings)

    document = client.get(reverse("certificate-json", args=[grant.public_id])).json()

    assert "Not valid." in client.get(reverse("certificate", args=[grant.public_id])).content.decode()
    assert (document["key_id"], document["key_status"], document["public_key_url"]) == (None, None, None)


def test_a_certificate_signed_after_a_rotation_names_the_new_key_in_its_signed_text(
    client, settings, on_sale, old_key, buyer
):
    new_key = _rotate(settings, old_key)
    grant = _granted(on_sale, buyer)

    document = client.get(reverse("certificate-json", args=[grant.public_id])).json()

    assert document["certificate"]["key_id"] == new_key.key_id
    assert document["certificate"]["public_key_url"].endswith(f"/signing-keys/{new_key.key_id}.pem")
    assert (document["key_id"], document["key_status"]) == (new_key.key_id, "current")
    assert "current" in client.get(reverse("certificate", args=[grant.public_id])).content.decode()


def test_the_site_publishes_the_current_key_first_then_the_retired_ones(client, settings, old_key):
    older = Key()
    new_key = _rotate(settings, old_key, older)

    published = client.get("/signing-keys.json")

    assert published["Access-Control-Allow-Origin"] == "*"
    body = published.json()
    assert body["current"] == new_key.key_id
    assert [(key["id"], key["status"]) for key in body["keys"]] == [
        (new_key.key_id, "current"),
        (old_key.key_id, "retired"),
        (older.key_id, "retired"),
    ]
    for key in body["keys"]:
        served = client.get(re.sub(r"^https?://[^/]+", "", key["url"]))
        assert served.status_code == 200 and served["Content-Type"] == "application/x-pem-file"
        assert served.content.decode() == key["pem"]
        assert public_key_id(load_public_key(served.content)) == key["id"]
    assert client.get("/signing-key.pem").content.decode() == new_key.public_pem


def test_a_key_the_site_never_published_is_404(client, old_key):
    assert client.get(f"/signing-keys/{Key().key_id}.pem").status_code == 404
    assert client.get(f"/signing-keys/{old_key.key_id}.pem").status_code == 200


def test_the_current_key_listed_among_the_retired_is_published_once(settings, old_key):
    settings.SIGNING_KEYS_RETIRED = old_key.public_pem

    assert [(key.key_id, key.status) for key in published_keys()] == [(old_key.key_id, "current")]


def test_a_retired_key_list_that_is_not_pem_is_an_error_naming_the_setting(settings, old_key):
    settings.SIGNING_KEYS_RETIRED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA"

    with pytest.raises(ValueError, match="SIGNING_KEYS_RETIRED"):
        published_keys()


def _bundle_copy(version: DatasetVersion, destination: Path) -> Path:
    """The bundle as a buyer downloads it, from storage into a folder of its own."""
    root = destination / version.name
    for file in version.files.all():
        path = root / file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(file.storage_name, "rb") as stored:
            path.write_bytes(stored.read())
    return root


def test_a_bundle_signed_before_a_rotation_verifies_with_the_key_its_readme_names(
    client, settings, on_sale, old_key, tmp_path
):
    bundle = _bundle_copy(on_sale, tmp_path)
    _rotate(settings, old_key)

    cited = re.search(r"https?://[^/\s]+(/signing-keys/[0-9a-f]+\.pem)", (bundle / "README.md").read_text())

    assert cited and cited.group(1) == f"/signing-keys/{old_key.key_id}.pem"
    verify_bundle(bundle, load_public_key(client.get(cited.group(1)).content))


def test_the_client_verifies_an_old_bundle_with_the_keys_the_site_lists(
    settings, old_key, live_server, media_root, tmp_path
):
    bundle = _bundle_copy(put_on_sale(), tmp_path)
    _rotate(settings, old_key)

    keys = client_bundle.load_public_keys(Api(live_server.url, None).public_keys_pem(), "the site's keys")

    assert len(keys) == 2
    assert client_bundle.verify_bundle(bundle, *keys).ok
    assert not client_bundle.verify_bundle(bundle, keys[0]).ok
