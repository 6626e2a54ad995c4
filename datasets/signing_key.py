"""The site's Ed25519 signing key: SIGNING_KEY when set, else one generated into VAR_DIR on first use.

Rotating it must not orphan what the old key signed: the public halves of retired keys (SIGNING_KEYS_RETIRED)
stay published beside the current one, and a signature is checked against each of them in turn.
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from datasets.packaging.checksums import (
    generate_private_key_pem,
    load_private_key,
    load_public_keys,
    public_key_id,
)

KEY_FILE_NAME = "signing_key.pem"


@dataclass(frozen=True)
class PublishedKey:
    """A public key the site publishes: the current signing key's, or a retired one's."""

    key_id: str
    public_key: Ed25519PublicKey
    current: bool

    @property
    def status(self) -> str:
        return "current" if self.current else "retired"

    @property
    def pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def signing_key() -> Ed25519PrivateKey:
    """The private key bundles are signed with.

    Production sets SIGNING_KEY (PKCS#8 PEM), so every worker signs with the key whose public half the
    site publishes. The embedded default keeps one in VAR_DIR/signing_key.pem, made by whichever process
    needs it first.
    """
    if settings.SIGNING_KEY:
        return load_private_key(settings.SIGNING_KEY.encode())
    path = Path(settings.VAR_DIR) / KEY_FILE_NAME
    if not path.exists():
        _create_key_file(path)
    return load_private_key(path.read_bytes())


def current_key() -> PublishedKey:
    """The public half of the key new signatures are made with."""
    public_key = signing_key().public_key()
    return PublishedKey(key_id=public_key_id(public_key), public_key=public_key, current=True)


def published_keys() -> list[PublishedKey]:
    """The current key first, then each retired key SIGNING_KEYS_RETIRED lists (once, in its order)."""
    keys = [current_key()]
    retired_pem = settings.SIGNING_KEYS_RETIRED.strip()
    if retired_pem:
        try:
            retired = load_public_keys(retired_pem.encode())
        except ValueError as error:
            raise ValueError(f"SIGNING_KEYS_RETIRED: {error}") from error
        for public_key in retired:
            key_id = public_key_id(public_key)
            # Listing the current key among the retired ones (a rotation half undone) must not list it twice.
            if all(key.key_id != key_id for key in keys):
                keys.append(PublishedKey(key_id=key_id, public_key=public_key, current=False))
    return keys


def published_key(key_id: str) -> PublishedKey | None:
    return next((key for key in published_keys() if key.key_id == key_id), None)


def key_that_signed(message: bytes, signature: bytes) -> PublishedKey | None:
    """The published key that made `signature` over `message`; None when none of them did."""
    for key in published_keys():
        try:
            key.public_key.verify(signature, message)
        except InvalidSignature:
            continue
        return key
    return None


def _create_key_file(path: Path) -> None:
    """Write a new key to `path` unless another process got there first; never a half-written file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(generate_private_key_pem())
        # link() fails when the name exists, so of two processes racing here one key wins for both.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
