"""The Content-Security-Policy: every page carries it, it refuses inline script and style, and the deployment
checklist fails a site that would send none or a weak one."""

import json
from urllib.parse import urlsplit

import boto3
import pytest
from django.test import override_settings
from playwright.sync_api import expect

from marketplace.checks import content_security_policy_check
from marketplace.csp import S3_BACKEND, storage_origins
from tests.security.html import scan
from tests.test_settings import PRODUCTION, _run

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


@pytest.fixture
def pages(client, creator, published_with_description):
    """A sample of the site's HTML pages, each with the client that may see it."""
    published_with_description("Street scenes from European cities.")
    creator_client = type(client)()
    creator_client.force_login(creator)
    return {
        "home": (client, "/"),
        "catalog": (client, "/datasets/"),
        "dataset page": (client, "/datasets/street-scenes/"),
        "login": (client, "/account/login/"),
        "creator upload": (creator_client, "/creator/media/upload/"),
        "API docs": (client, "/api/docs/"),
        "not found": (client, "/no-such-page/"),
    }


@pytest.mark.parametrize(
    "name", ["home", "catalog", "dataset page", "login", "creator upload", "API docs", "not found"]
)
def test_a_page_runs_only_the_site_s_own_script_and_style(pages, name):
    client, path = pages[name]

    response = client.get(path)

    assert response["Content-Type"].startswith("text/html")
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert scan(response.content.decode()).dangers == []  # nothing inline the policy would refuse


def test_the_api_docs_start_up_script_is_a_file_of_its_own(client):
    page = client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/?script=")

    assert '<script src="/api/docs/?script=">' in page
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_with_media_in_a_bucket_pages_may_load_from_and_upload_to_that_bucket(client, s3_bucket):
    policy = directives(client.get("/account/login/")["Content-Security-Policy"])

    assert policy["img-src"] == ["'self'", "data:", s3_bucket.endpoint]
    assert policy["media-src"] == ["'self'", s3_bucket.endpoint]
    assert policy["connect-src"] == ["'self'", s3_bucket.endpoint]
    assert policy["script-src"] == ["'self'"]


@pytest.mark.parametrize(
    "options",
    [
        {"bucket_name": "media", "endpoint_url": "https://s3.internal:9000"},
        {"bucket_name": "media", "region_name": "eu-west-1"},
        {"bucket_name": "media"},
    ],
    ids=["S3-compatible endpoint", "AWS region", "AWS default region"],
)
def test_the_allowed_bucket_origin_is_where_presigned_links_and_uploads_go(options):
    s3 = boto3.client(
        "s3",
        endpoint_url=options.get("endpoint_url"),
        region_name=options.get("region_name"),
        aws_access_key_id="key",
        aws_secret_access_key="secret",
    )
    links = [
        s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "previews/a.jpg"}),
        s3.generate_presigned_post("media", "originals/a.jpg")["url"],
    ]

    allowed = storage_origins({"BACKEND": S3_BACKEND, "OPTIONS": options})

    for link in links:
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}" in allowed


def _policy_for(tmp_path, **variables: str) -> dict[str, list[str]]:
    probe = "import json, django; from django.conf import settings; django.setup(); "
    probe += 'print(json.dumps(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]))'
    result = _run(["-c", probe], tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_stripe_the_checkout_and_onboarding_redirects_are_allowed_form_targets(tmp_path):
    policy = _policy_for(tmp_path, STRIPE_SECRET_KEY="sk_test_123")

    assert policy["form-action"] == ["'self'", "https://checkout.stripe.com", "https://connect.stripe.com"]


def test_the_production_deployment_checklist_passes_with_the_policy(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("directive", ["script-src", "style-src"])
def test_the_deployment_checklist_refuses_a_policy_allowing_inline_code(settings, directive):
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
            directive: ["'self'", "'unsafe-inline'"],
        }
    }

    warnings = content_security_policy_check()

    assert [warning.id for warning in warnings] == ["marketplace.W003"]
    assert directive in warnings[0].msg


def test_the_deployment_checklist_refuses_a_policy_falling_back_to_a_loose_default(settings):
    loose = {"default-src": ["*"], "img-src": ["'self'"]}

    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": loose}):
        warnings = content_security_policy_check()

    assert [warning.id for warning in warnings] == ["marketplace.W003", "marketplace.W003"]


def test_the_deployment_checklist_refuses_a_site_sending_no_policy(settings):
    settings.MIDDLEWARE = [
        name for name in settings.MIDDLEWARE if not name.endswith("SecurityPolicyMiddleware")
    ]

    assert [warning.id for warning in content_security_policy_check()] == ["marketplace.W001"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_api_docs_render_in_a_browser_within_the_policy(page, browser):
    page.goto("/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("API")
    page.locator(".opblock-summary").first.click()  # an operation opened: its parameters and schemas drawn
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert browser.violations == []
