"""The site's Ed25519 signing key: SIGNING_KEY when set, else one generated into VAR_DIR on first use.

Rotating it must not orphan what the old key signed: the public halves of retired keys (SIGNING_KEYS_RETIRED)
stay published beside the current one, and a signature is checked against each of them in turn.
"""

import datetime as dt
import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

from datasets.packaging.checksums import (
    generate_private_key_pem,
    load_private_key,
    load_public_keys,
    public_key_id,
)
from datasets.packaging.credentials import ContentSigner

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


def content_signer() -> ContentSigner:
    """The C2PA credential delivered files are signed with: the operator's (C2PA_CERTIFICATE_CHAIN and
    C2PA_PRIVATE_KEY), else a chain made from the signing key (docs/operations.md)."""
    if settings.C2PA_CERTIFICATE_CHAIN and settings.C2PA_PRIVATE_KEY:
        return ContentSigner(
            certificate_chain=settings.C2PA_CERTIFICATE_CHAIN.encode(),
            private_key=settings.C2PA_PRIVATE_KEY.encode(),
        )
    key = signing_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ContentSigner(certificate_chain=_chain_from_signing_key(pem, settings.SITE_NAME), private_key=pem)


@functools.lru_cache(maxsize=4)
def _chain_from_signing_key(private_key_pem: bytes, site_name: str) -> bytes:
    """A two-certificate chain whose root and end entity both hold the signing key's public half.

    C2PA wants an end-entity certificate for signing and an issuer above it. No reader trusts this root, so
    they report the signature as valid but the signer untrusted; what a buyer can check is that the
    certificate's key is the one the site publishes (`datamarket verify` does).
    """
    key = load_private_key(private_key_pem)
    public_key = key.public_key()
    now = dt.datetime.now(dt.UTC)

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, site_name),
            ]
        )

    def certificate(subject: str, issuer: str) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )

    root_name, end_name = f"{site_name} root", f"{site_name} content credentials"
    usage = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    root = (
        certificate(root_name, root_name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage), critical=True
        )
        .sign(key, None)
    )
    end = (
        certificate(end_name, root_name)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, None)
    )
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in (end, root))


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
