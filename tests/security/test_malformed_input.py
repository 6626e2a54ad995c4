"""Malformed input gets a clean 4xx: in the API's JSON error format under /api/, as a page elsewhere; never a
500, and never an HTML page to an API client."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _api_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status and error["message"]
    return error


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/assets/not-a-uuid/",
        "/api/v1/orders/1234/",
        "/api/v1/licenses/00000000-0000-0000-0000-00000000000g/",
        "/api/v1/uploads/%2e%2e%2f/",
        "/api/v1/no-such-thing/",
    ],
)
def test_a_malformed_id_in_an_api_path_answers_a_json_404(client, buyer, path):
    client.force_login(buyer)

    _api_error(client.get(path), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/assets/?status=%00",
        "/api/v1/assets/?status=ready%00",
        "/api/v1/assets/?%00=1",
        "/api/v1/datasets/?q=%00",
        "/api/v1/assets/%00/",
    ],
)
def test_a_nul_byte_in_an_api_path_or_query_answers_a_json_400(client, creator, path):
    client.force_login(creator)

    error = _api_error(client.get(path), 400)

    assert "NUL" in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/creator/media/?status=%00",
        "/datasets/?q=%00",
        "/datasets/some-dataset/previews/%00.jpg",
        "/datasets/some-dataset/previews/key%00.jpg",
        "/media/00000000-0000-0000-0000-000000000000/preview%00",
    ],
)
def test_a_nul_byte_in_a_page_address_answers_a_400_page(client, creator, path):
    client.force_login(creator)

    response = client.get(path)

    assert response.status_code == 400
    assert "NUL byte" in response.content.decode()


def test_a_nul_byte_in_a_login_form_answers_400(client, buyer):
    response = client.post(reverse("login"), {"username": f"{buyer.email}\x00", "password": "x\x00"})

    assert response.status_code == 400


def test_a_nul_byte_in_an_api_json_field_is_a_field_error(client, creator):
    client.force_login(creator)

    response = client.post(
        "/api/v1/uploads/", {"file_name": "a\x00.jpg", "size": 10}, content_type="application/json"
    )

    error = _api_error(response, 400)
    assert "file_name" in error["fields"]


def test_an_api_answer_to_a_refused_permission_is_json(client, buyer):
    client.force_login(buyer)

    response = client.post(
        "/api/v1/uploads/", {"file_name": "a.jpg", "size": 10}, content_type="application/json"
    )

    _api_error(response, 403)
