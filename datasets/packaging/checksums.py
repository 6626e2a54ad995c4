"""SHA256SUMS over a bundle, its Ed25519 signature (SHA256SUMS.sig), and their verification.

SHA256SUMS is in GNU coreutils' format, `<hex sha256>  <path>` per line, sorted by path, every path relative
to the bundle's root with '/' between directories: `sha256sum -c SHA256SUMS` run in the bundle's root checks
every file. SHA256SUMS.sig is the raw 64-byte Ed25519 signature of SHA256SUMS's exact bytes, which standard
tools verify as they are, given the site's public key (PEM):

    openssl pkeyutl -verify -pubin -inkey datamarket.pub.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig

Keys travel as PEM: the private key PKCS#8 (what `openssl genpkey -algorithm ed25519` writes), the public
key SubjectPublicKeyInfo (what `openssl pkey -pubout` writes). This module takes their bytes and reads no
settings.
"""

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.hashing import sha256_file

SUMS_NAME = "SHA256SUMS"
SIGNATURE_NAME = "SHA256SUMS.sig"
PUBLIC_KEY_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)
# Hex digits of a key id: 64 bits tell a site's handful of keys apart, and stay short enough to read out.
KEY_ID_LENGTH = 16


class BundleVerificationError(ValueError):
    """The bundle does not match its signed checksums, or the checksums not their signature."""


def generate_private_key_pem() -> bytes:
    """A new Ed25519 private key, as unencrypted PKCS#8 PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """The Ed25519 private key in `pem`; ValueError for anything else (another algorithm, no key)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise ValueError(f"the signing key is not an unencrypted PKCS#8 PEM private key: {error}") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"the signing key must be Ed25519, not {type(key).__name__}")
    return key


def public_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    """The public half, as the site publishes it for buyers to verify bundles."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as error:
        raise ValueError(f"not a PEM public key: {error}") from error
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"the public key must be Ed25519, not {type(key).__name__}")
    return key


def load_public_keys(pem: bytes) -> list[Ed25519PublicKey]:
    """Every Ed25519 public key in `pem`, a concatenation of PEM blocks; ValueError if it holds none."""
    blocks = PUBLIC_KEY_BLOCK.findall(pem)
    if not blocks:
        raise ValueError("no PEM public key (-----BEGIN PUBLIC KEY-----) found")
    return [load_public_key(block) for block in blocks]


def public_key_id(public_key: Ed25519PublicKey) -> str:
    """The key's fingerprint: the start of the SHA-256 of its DER SubjectPublicKeyInfo.

    Anyone holding the PEM can compute it:
    `openssl pkey -pubin -in key.pem -outform DER | sha256sum | cut -c1-16`.
    """
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:KEY_ID_LENGTH]


def sha256sums(root: Path, known: Mapping[str, str] | None = None) -> bytes:
    """SHA256SUMS for every file under `root` but SHA256SUMS and its signature.

    `known` maps relative paths to digests already computed while writing those files (the shards, hashed
    by the shard writer), so gigabytes are not read twice; every other file is hashed here.
    """
    known = known or {}
    files = {
        path.relative_to(root).as_posix(): path
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).as_posix() not in (SUMS_NAME, SIGNATURE_NAME)
    }
    if unknown := set(known) - set(files):
        raise ValueError(f"digests given for files not in the bundle: {sorted(unknown)}")
    return sums_text({relative: known.get(relative) or sha256_file(path) for relative, path in files.items()})


def sums_text(digests: Mapping[str, str]) -> bytes:
    """SHA256SUMS from each file's relative path and hex sha256, for a bundle that is not all on one disk."""
    lines = []
    for relative in sorted(digests):
        if "\n" in relative or "\\" in relative:
            # GNU's format escapes such names; a bundle has no reason to contain one.
            raise ValueError(f"bundle file name {relative!r} holds a newline or backslash")
        if relative in (SUMS_NAME, SIGNATURE_NAME):
            raise ValueError(f"{relative} cannot list itself")
        lines.append(f"{digests[relative]}  {relative}\n")
    return "".join(lines).encode()


def write_signed_sums(
    root: Path, private_key: Ed25519PrivateKey, known: Mapping[str, str] | None = None
) -> tuple[Path, Path]:
    """Write SHA256SUMS and SHA256SUMS.sig into the bundle's root; the last step of building a bundle."""
    sums = sha256sums(root, known)
    sums_path, signature_path = root / SUMS_NAME, root / SIGNATURE_NAME
    sums_path.write_bytes(sums)
    signature_path.write_bytes(private_key.sign(sums))
    return sums_path, signature_path


def verify_signature(sums: bytes, signature: bytes, public_key: Ed25519PublicKey) -> None:
    """Raise BundleVerificationError unless `signature` is the key's signature of exactly `sums`."""
    try:
        public_key.verify(signature, sums)
    except InvalidSignature as error:
        raise BundleVerificationError(
            f"{SIGNATURE_NAME} is not a signature of this {SUMS_NAME} by this key"
        ) from error


def verify_bundle(root: Path, public_key: Ed25519PublicKey) -> None:
    """Check the signature, then every file SHA256SUMS lists; raise BundleVerificationError on a mismatch."""
    sums = (root / SUMS_NAME).read_bytes()
    verify_signature(sums, (root / SIGNATURE_NAME).read_bytes(), public_key)
    for line in sums.decode().splitlines():
        digest, relative = line.split("  ", 1)
        path = root / relative
        if not path.is_file():
            raise BundleVerificationError(f"{relative} is listed in {SUMS_NAME} but missing")
        if sha256_file(path) != digest:
            raise BundleVerificationError(f"{relative} does not match its sha256 in {SUMS_NAME}")
