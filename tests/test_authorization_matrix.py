"""Every page and endpoint that names an object, visited by everyone it does not belong to: never a 2xx.

The routes are read from the URLconf, so a new route that names an object fails here until it is given its
object below (or declared public, with the reason).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from creators.models import UploadSession
from marketplace.models import ApiToken
from marketplace.services import api_token_create, orders, organizations, revocations
from tests.factories import (
    BuyerFactory,
    ConsentFactory,
    CreatorFactory,
    MediaAssetFactory,
    ReleaseFactory,
)
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db

# Routes anyone may open, and why.
PUBLIC = {
    "certificate": "a certificate's verify page is for anyone the licensee shows it to",
    "certificate-json": "the same certificate, as JSON",
    "signing-key-by-id": "the site's public keys, current and retired, are published for anyone to verify with",
    "datasets:detail": "the public dataset page (404 unless the dataset is public)",
    "datasets:croissant": "metadata dataset hubs fetch",
    "datasets:preview": "watermarked public previews",
    "datasets:api-dataset": "the public catalog",
    "licensing:terms": "license texts are public",
    "password_reset_confirm": "the signed token in the link is the authority",
    "signup-confirm": "the signed token in the link is the authority (tests/security/test_enumeration.py)",
    "download": "the signed, expiring token in the link is the authority (tests/marketplace/test_license_pages.py)",
    "licensing:release-sign": "the signed token in the link is the authority (tests/licensing)",
}


@dataclass
class World:
    creator: Any
    buyer: Any
    objects: dict[str, dict[str, Any]]  # route name -> its URL's arguments


@pytest.fixture
def world(media_root) -> World:
    creator = CreatorFactory()
    profile = creator.creator_profile
    asset = MediaAssetFactory(creator=profile, thumbnail="thumbnails/x.jpg")
    ConsentFactory(asset=asset, status="pending")
    consent = asset.consents.get()
    release = ReleaseFactory(creator=profile, status="submitted", assets=[asset], scan="releases/x.pdf")
    upload = UploadSession.objects.create(
        creator=profile, file_name="clip.mp4", size=10, expires_at=timezone.now() + timedelta(hours=1)
    )
    version = put_on_sale(slug="city-life")
    buyer = BuyerFactory()
    token, _ = api_token_create(user=buyer, name="t")
    paid = orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="research")
    grant = orders.order_pay_test(order=paid, buyer=buyer)
    pending = orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="commercial")
    endpoint = revocations.webhook_endpoint_create(actor=buyer, url="https://example.com/hooks")
    # Addressed to the buyer: theirs to open, and to cancel as the organization's owner.
    invitation = organizations.invitation_send(
        organization=grant.organization, actor=buyer, email=buyer.email
    )
    slug = {"slug": version.dataset.slug}
    by_version = {**slug, "number": version.number}
    objects = {
        "api-token-revoke": {"token_id": token.pk},
        "organization-invite": {"public_id": grant.organization.public_id},
        "organization-invitation-cancel": {
            "public_id": grant.organization.public_id,
            "invitation_id": invitation.public_id,
        },
        "invitation": {"public_id": invitation.public_id},
        "organization-member-remove": {"public_id": grant.organization.public_id, "user_id": buyer.pk},
        "license-detail": {"public_id": grant.public_id},
        "checkout": {"public_id": pending.public_id},
        "checkout-done": {"public_id": pending.public_id},
        "api-order": {"public_id": paid.public_id},
        "api-license": {"public_id": grant.public_id},
        "api-license-files": {"public_id": grant.public_id},
        "api-license-certificate": {"public_id": grant.public_id},
        "license-revoked-samples": {"public_id": grant.public_id},
        "webhook-detail": {"public_id": endpoint.public_id},
        "webhook-set-active": {"public_id": endpoint.public_id},
        "webhook-delete": {"public_id": endpoint.public_id},
        "api-webhook": {"public_id": endpoint.public_id},
        "api-webhook-deliveries": {"public_id": endpoint.public_id},
        "datasets:curation-edit": slug,
        "datasets:visibility": slug,
        "datasets:version-build": slug,
        "datasets:version-card": by_version,
        "datasets:version-retry": by_version,
        "datasets:version-withdraw": by_version,
        "licensing:release-detail": {"public_id": release.public_id},
        "licensing:release-renew-link": {"public_id": release.public_id},
        "licensing:release-resubmit": {"public_id": release.public_id},
        "licensing:release-revoke": {"public_id": release.public_id},
        "licensing:release-erase": {"public_id": release.public_id},
        "licensing:release-file": {"public_id": release.public_id, "field": "scan"},
        "licensing:review-release": {"public_id": release.public_id},
        "licensing:review-consent": {"public_id": consent.public_id},
        "licensing:review-takedown": {"public_id": asset.public_id},
        "licensing:api-release": {"public_id": release.public_id},
        "licensing:api-release-revoke": {"public_id": release.public_id},
        "licensing:api-review-release": {"public_id": release.public_id},
        "licensing:api-review-consent": {"public_id": consent.public_id},
        "creators:media-detail": {"public_id": asset.public_id},
        "creators:media-card": {"public_id": asset.public_id},
        "creators:media-delete": {"public_id": asset.public_id},
        "creators:asset-file": {"public_id": asset.public_id, "variant": "thumbnail"},
        "creators:api-asset": {"public_id": asset.public_id},
        "creators:api-upload": {"public_id": upload.public_id},
        "creators:api-upload-complete": {"public_id": upload.public_id},
    }
    return World(creator=creator, buyer=buyer, objects=objects)


def _routes_with_arguments() -> set[str]:
    def walk(resolver: URLResolver, namespace: str | None) -> set[str]:
        names = set()
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern).startswith("admin/"):
                    continue  # Django's admin: staff only, its own permission checks
                names |= walk(pattern, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.pattern.converters and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
        return names

    return walk(get_resolver(), None)


def _visitors(world: World) -> dict[str, Callable[[], Client]]:
    def signed_in(user: Any) -> Callable[[], Client]:
        def make() -> Client:
            client = Client()
            client.force_login(user)
            return client

        return make

    return {
        "anonymous": Client,
        "another buyer": signed_in(BuyerFactory()),
        "another creator": signed_in(CreatorFactory()),
        # Review and curation routes belong to reviewers: the objects' own creator and buyer are strangers there.
        "the creator": signed_in(world.creator),
        "the buyer": signed_in(world.buyer),
    }


OWNED_BY = {
    "creator": {"licensing:release", "creators:", "licensing:api-release"},
    "buyer": {
        "license-detail",
        "license-revoked-samples",
        "checkout",
        "api-order",
        "api-license",
        "api-token-revoke",
        "organization-",
        "invitation",
        "webhook-",
        "api-webhook",
    },
}


def _owner_of(name: str) -> str | None:
    """Who may open the route legitimately (the test skips them): "creator", "buyer", or None (reviewers)."""
    if name.startswith(("licensing:review-", "licensing:api-review-", "datasets:")):
        return None
    for owner, prefixes in OWNED_BY.items():
        if name.startswith(tuple(prefixes)):
            return owner
    return None


def test_every_route_that_names_an_object_is_in_the_matrix(world):
    unknown = _routes_with_arguments() - set(world.objects) - set(PUBLIC)

    assert not unknown, f"add these routes to the authorization matrix: {sorted(unknown)}"


def test_nobody_but_the_owner_gets_a_2xx_from_any_route_that_names_an_object(world):
    granted = []
    for name, arguments in sorted(world.objects.items()):
        url = reverse(name, kwargs=arguments)
        owner = _owner_of(name)
        for visitor, client in _visitors(world).items():
            if owner is not None and visitor == f"the {owner}":
                continue
            session = client()
            for method in ("get", "post", "patch", "delete"):
                status = getattr(session, method)(url).status_code
                if 200 <= status < 300:
                    granted.append(f"{visitor} {method.upper()} {url} ({name}): {status}")

    assert not granted, "\n".join(granted)
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1  # the buyer's token still stands


def test_the_matrix_objects_are_real_their_owners_open_them(world, reviewer):
    """The control: the same URLs answer 200 to their owners, so the refusals above are not 404s by mistake."""
    visits = {
        world.buyer: ["license-detail", "checkout", "api-order", "api-license", "api-license-files"],
        world.creator: ["creators:media-detail", "creators:api-asset", "licensing:release-detail"],
        reviewer: ["licensing:review-release", "licensing:review-consent", "datasets:curation-edit"],
    }
    for user, names in visits.items():
        client = Client()
        client.force_login(user)
        for name in names:
            response = client.get(reverse(name, kwargs=world.objects[name]))
            assert response.status_code == 200, f"{user} GET {name}: {response.status_code}"
