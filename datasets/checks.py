"""System checks: a malformed signing key is reported when the site starts, not on the first page that signs."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from datasets.packaging.checksums import load_private_key, load_public_keys

# Each key setting: how it is read, what it must hold, and its check's id.
KEY_SETTINGS: list[tuple[str, Callable[[bytes], object], str, str]] = [
    (
        "SIGNING_KEY",
        load_private_key,
        "An Ed25519 private key in PKCS#8 PEM: openssl genpkey -algorithm ed25519",
        "datasets.E001",
    ),
    (
        "SIGNING_KEYS_RETIRED",
        load_public_keys,
        "The public halves of retired keys, PEM blocks one after another: openssl pkey -in old.pem -pubout",
        "datasets.E002",
    ),
]


@register()
def signing_keys_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for setting, load, hint, check_id in KEY_SETTINGS:
        value = getattr(settings, setting).strip()
        if not value:
            continue  # SIGNING_KEY unset: one is generated; no retired keys: nothing to publish
        try:
            load(value.encode())
        except ValueError as error:
            errors.append(Error(f"{setting}: {error}", hint=hint, id=check_id))
    return errors
