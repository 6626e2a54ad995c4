"""The API against its own OpenAPI schema: the schema generates cleanly, and every operation, driven by
property-based inputs, valid and invalid, as a buyer, a creator and a reviewer, passes every schemathesis
check: no 5xx, nothing the schema does not describe, invalid input refused."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from creators import services as creator_services
from marketplace.models import Order
from marketplace.services import api_token_create, orders
from marketplace.wsgi import application
from tests.examples import examples
from tests.factories import (
    BuyerFactory,
    ConsentFactory,
    CreatorFactory,
    MediaAssetFactory,
    ReleaseFactory,
    ReviewerFactory,
)
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db

# Few and seeded: both callers' runs take about half a minute, and find the same cases every time.
EXAMPLES_PER_OPERATION = 25


def test_the_schema_generates_valid_without_a_warning(tmp_path):
    # --validate checks the document against the OpenAPI 3 meta-schema; --fail-on-warn fails on any warning,
    # such as a view whose answers drf-spectacular cannot infer.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def _load_schema() -> Any:
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", application)
    # Valid and invalid inputs alike; the token is sent by the test, never generated. No NUL byte in generated
    # strings: the API refuses one anywhere (docs/api.md), which tests/security/test_malformed_input.py checks.
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        with_security_parameters=False,
        allow_x00=False,
    )
    # A request the schema allows may still be refused with a documented 400: no schema says "a cursor this
    # API handed out" or "a file that is really a photo". The 400 must still be one the operation documents,
    # in the documented shape (status_code_conformance, response_schema_conformance).
    acceptance = loaded.config.checks.positive_data_acceptance
    acceptance.expected_statuses = [*acceptance.expected_statuses, "400"]
    return loaded


schema = _load_schema()


@dataclass
class Caller:
    """Who sends the requests, and the ids and values of objects they can reach."""

    headers: dict[str, str]
    dataset_slug: str
    # Per path template: the id of an object of this caller's, used instead of a random one.
    path_ids: dict[str, str] = field(default_factory=dict)
    # Per body field: a value naming real objects, used instead of a random one when the body has the field.
    body_values: dict[str, Any] = field(default_factory=dict)

    def aim_at_real_objects(self, case: Any) -> None:
        if "public_id" in (case.path_parameters or {}) and case.operation.path in self.path_ids:
            case.path_parameters = {**case.path_parameters, "public_id": self.path_ids[case.operation.path]}
        if "slug" in (case.path_parameters or {}):
            case.path_parameters = {**case.path_parameters, "slug": self.dataset_slug}
        if isinstance(case.body, dict):
            case.body = {name: self.body_values.get(name, value) for name, value in case.body.items()}


def _token_headers(user: Any) -> dict[str, str]:
    _, key = api_token_create(user=user, name="schemathesis")
    return {"Authorization": f"Token {key}"}


def _buyer_with_a_license() -> Caller:
    version = put_on_sale()
    buyer = BuyerFactory()
    bought = orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="research")
    grant = orders.order_pay_test(order=bought, buyer=buyer)
    assert Order.objects.get(pk=bought.pk).status == Order.Status.FULFILLED
    license_id = str(grant.public_id)
    return Caller(
        headers=_token_headers(buyer),
        dataset_slug=version.dataset.slug,
        path_ids={
            "/api/v1/orders/{public_id}/": str(bought.public_id),
            "/api/v1/licenses/{public_id}/": license_id,
            "/api/v1/licenses/{public_id}/files/": license_id,
            "/api/v1/licenses/{public_id}/certificate/": license_id,
        },
        body_values={"dataset": version.dataset.slug, "tier": "research"},
    )


def _creator_with_media() -> Caller:
    version = put_on_sale()
    creator = CreatorFactory()
    profile = creator.creator_profile
    assets = [MediaAssetFactory(creator=profile) for _ in range(3)]
    ConsentFactory(asset=assets[0])
    release = ReleaseFactory(creator=profile, assets=assets[:2])
    upload = creator_services.upload_session_start(creator=profile, file_name="clip.jpg", size=1000)
    asset_ids = [str(asset.public_id) for asset in assets]
    return Caller(
        headers=_token_headers(creator),
        dataset_slug=version.dataset.slug,
        path_ids={
            "/api/v1/assets/{public_id}/": asset_ids[1],
            "/api/v1/uploads/{public_id}/": str(upload.public_id),
            "/api/v1/uploads/{public_id}/complete/": str(upload.public_id),
            "/api/v1/releases/{public_id}/": str(release.public_id),
            "/api/v1/releases/{public_id}/revoke/": str(release.public_id),
        },
        body_values={
            "dataset": version.dataset.slug,
            "asset_ids": asset_ids,
            "ids": asset_ids,
            "terms": ["research"],
        },
    )


@pytest.fixture(autouse=True)
def _database_connection_kept_across_requests() -> Iterator[None]:
    """The WSGI app closes the database connection around each request, and with it the test's transaction:
    keep it open, as Django's test client does."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def as_buyer() -> Caller:
    return _buyer_with_a_license()


@pytest.fixture
def as_creator() -> Caller:
    return _creator_with_media()


@pytest.fixture
def as_reviewer() -> Caller:
    version = put_on_sale()
    release = ReleaseFactory(status="submitted")
    consent = ConsentFactory(status="pending")
    return Caller(
        headers=_token_headers(ReviewerFactory()),
        dataset_slug=version.dataset.slug,
        path_ids={
            "/api/v1/review/releases/{public_id}/decision/": str(release.public_id),
            "/api/v1/review/consents/{public_id}/decision/": str(consent.public_id),
        },
    )


def property_test_of_every_operation(test: Callable[..., None]) -> Callable[..., None]:
    """The test, run on every operation of the schema with a few seeded examples each."""
    bounded = settings(
        max_examples=examples(EXAMPLES_PER_OPERATION),
        deadline=None,
        derandomize=True,
        database=None,  # nothing replayed from, or written to, a local example database
        # The objects the operations act on are made once per test, not per example, on purpose.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )(test)
    return schema.parametrize()(schema.given(data=st.data())(bounded))


def _call_and_validate(case: Any, data: st.DataObject, caller: Caller) -> None:
    # About half the examples name the caller's own objects, so they get past the lookups to the real code.
    if data.draw(st.booleans(), label="aim at real objects"):
        caller.aim_at_real_objects(case)
    case.call_and_validate(headers=caller.headers)  # every check schemathesis has


@property_test_of_every_operation
def test_every_operation_answers_a_buyer_as_its_schema_says(
    case: Any, data: st.DataObject, as_buyer: Caller
) -> None:
    _call_and_validate(case, data, as_buyer)


@property_test_of_every_operation
def test_every_operation_answers_a_creator_as_its_schema_says(
    case: Any, data: st.DataObject, as_creator: Caller
) -> None:
    _call_and_validate(case, data, as_creator)


@property_test_of_every_operation
def test_every_operation_answers_a_reviewer_as_its_schema_says(
    case: Any, data: st.DataObject, as_reviewer: Caller
) -> None:
    _call_and_validate(case, data, as_reviewer)
