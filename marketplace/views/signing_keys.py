"""The public keys buyers verify bundles and license certificates with: the current one and retired ones."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from datasets.signing_key import PublishedKey, current_key, published_key, published_keys

# Keys change only at a rotation, and a retired key never changes again; an hour's caching is harmless.
PUBLIC_CACHE_CONTROL = "public, max-age=3600"


def _public(response: HttpResponse) -> HttpResponse:
    # Anyone may fetch the keys, from a browser page on another site too.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = PUBLIC_CACHE_CONTROL
    return response


def _pem_response(key: PublishedKey, file_name: str) -> HttpResponse:
    response = HttpResponse(key.pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'inline; filename="{file_name}"'
    return _public(response)


@require_safe
def signing_key_pem(request: HttpRequest) -> HttpResponse:
    """The current key: what new bundles' SHA256SUMS.sig and license certificates are signed with."""
    return _pem_response(current_key(), "datamarket.pub.pem")


@require_safe
def signing_key_by_id_pem(request: HttpRequest, key_id: str) -> HttpResponse:
    """One published key by its id, current or retired: the address a bundle's README and a certificate cite."""
    key = published_key(key_id)
    if key is None:
        raise Http404("The site publishes no key with this id.")
    return _pem_response(key, f"datamarket-{key.key_id}.pub.pem")


@require_safe
def signing_keys_json(request: HttpRequest) -> HttpResponse:
    """Every published key, current first: a signature made by any of them is the site's."""
    keys = published_keys()
    return _public(
        JsonResponse(
            {
                "algorithm": "Ed25519",
                "current": keys[0].key_id,
                "keys": [
                    {
                        "id": key.key_id,
                        "status": key.status,
                        "pem": key.pem.decode(),
                        "url": settings.SITE_URL + reverse("signing-key-by-id", args=[key.key_id]),
                    }
                    for key in keys
                ],
            }
        )
    )
