import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey

from datasets.packaging.checksums import (
    SIGNATURE_NAME,
    SUMS_NAME,
    BundleVerificationError,
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_key_pem,
    sha256sums,
    verify_bundle,
    verify_signature,
    write_signed_sums,
)
from datasets.packaging.tar import ShardWriter

needs_sha256sum = pytest.mark.skipif(
    shutil.which("sha256sum") is None, reason="coreutils' sha256sum is missing"
)
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is missing")


@pytest.fixture
def key():
    return load_private_key(generate_private_key_pem())


class Bundle(NamedTuple):
    root: Path
    known: dict[str, str]  # the shards' digests, as the shard writer reported them


@pytest.fixture
def bundle(tmp_path) -> Bundle:
    """A small bundle: top-level documents and a shards/ directory written by the shard writer."""
    root = tmp_path / "portraits-v3"
    shards = root / "shards"
    shards.mkdir(parents=True)
    (root / "README.md").write_text("# Portraits\n")
    (root / "manifest.jsonl").write_bytes(b'{"key":"a"}\n{"key":"b"}\n')
    media = tmp_path / "media.jpg"
    media.write_bytes(b"\xff\xd8" + bytes(range(256)) * 400)
    with ShardWriter(shards, "portraits-v3", mtime=0, fsync=False, max_shard_bytes=60_000) as writer:
        for key in ("a", "b", "c"):
            writer.write(key, media, extension="jpg", metadata=b"{}")
    return Bundle(root, {f"shards/{info.name}": info.sha256 for info in writer.finished})


def test_sha256sums_lists_every_file_sorted_with_relative_paths(bundle):
    sums = sha256sums(bundle.root).decode()

    paths = [line.split("  ", 1)[1] for line in sums.splitlines()]
    assert paths == sorted(paths)
    assert paths == [
        "README.md",
        "manifest.jsonl",
        "shards/portraits-v3-000000.tar",
        "shards/portraits-v3-000001.tar",
        "shards/portraits-v3-000002.tar",
    ]
    assert sums.endswith("\n")


def test_digests_known_from_the_shard_writer_are_those_sha256sum_computes(bundle):
    assert sha256sums(bundle.root, bundle.known) == sha256sums(bundle.root)


def test_a_digest_for_a_file_not_in_the_bundle_is_refused(bundle):
    with pytest.raises(ValueError, match="not in the bundle"):
        sha256sums(bundle.root, {"shards/elsewhere.tar": "0" * 64})


@needs_sha256sum
def test_sha256sum_checks_the_bundle_from_its_root(bundle, key):
    write_signed_sums(bundle.root, key, bundle.known)

    result = subprocess.run(
        ["sha256sum", "--strict", "-c", SUMS_NAME], cwd=bundle.root, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK") == 5


@needs_sha256sum
def test_sha256sum_fails_when_one_byte_of_a_shard_changes(bundle, key):
    write_signed_sums(bundle.root, key, bundle.known)
    shard = bundle.root / "shards" / "portraits-v3-000001.tar"
    data = bytearray(shard.read_bytes())
    data[1000] ^= 0x01
    shard.write_bytes(data)

    result = subprocess.run(["sha256sum", "-c", SUMS_NAME], cwd=bundle.root, capture_output=True, text=True)

    assert result.returncode != 0
    assert "shards/portraits-v3-000001.tar: FAILED" in result.stdout
    with pytest.raises(BundleVerificationError, match=r"portraits-v3-000001\.tar does not match"):
        verify_bundle(bundle.root, key.public_key())


def test_the_signature_verifies_with_the_public_key(bundle, key):
    sums_path, signature_path = write_signed_sums(bundle.root, key)

    assert len(signature_path.read_bytes()) == 64
    public = load_public_key(public_key_pem(key))
    verify_signature(sums_path.read_bytes(), signature_path.read_bytes(), public)
    verify_bundle(bundle.root, public)


def test_the_signature_fails_for_a_modified_sha256sums(bundle, key):
    sums_path, signature_path = write_signed_sums(bundle.root, key)
    tampered = sums_path.read_bytes().replace(b"README.md", b"README.md ", 1)

    with pytest.raises(BundleVerificationError, match="not a signature of this SHA256SUMS"):
        verify_signature(tampered, signature_path.read_bytes(), key.public_key())
    sums_path.write_bytes(tampered)
    with pytest.raises(BundleVerificationError):
        verify_bundle(bundle.root, key.public_key())


def test_the_signature_fails_for_another_key(bundle, key):
    write_signed_sums(bundle.root, key)
    other = load_private_key(generate_private_key_pem())

    with pytest.raises(BundleVerificationError):
        verify_bundle(bundle.root, other.public_key())


def test_a_missing_listed_file_fails_verification(bundle, key):
    write_signed_sums(bundle.root, key)
    (bundle.root / "README.md").unlink()

    with pytest.raises(BundleVerificationError, match=r"README\.md is listed in SHA256SUMS but missing"):
        verify_bundle(bundle.root, key.public_key())


def test_writing_again_replaces_the_sums_rather_than_listing_them(bundle, key):
    first = write_signed_sums(bundle.root, key)[0].read_bytes()

    assert write_signed_sums(bundle.root, key)[0].read_bytes() == first
    assert SIGNATURE_NAME.encode() not in first


@needs_openssl
def test_openssl_verifies_the_signature_with_the_published_public_key(bundle, key, tmp_path):
    write_signed_sums(bundle.root, key)
    public = tmp_path / "datamarket.pub.pem"
    public.write_bytes(public_key_pem(key))

    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin",
         "-in", SUMS_NAME, "-sigfile", SIGNATURE_NAME],
        cwd=bundle.root, capture_output=True, text=True,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr


@needs_openssl
def test_a_key_made_by_openssl_signs(bundle, tmp_path):
    pem = tmp_path / "signing.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)], check=True)
    key = load_private_key(pem.read_bytes())

    write_signed_sums(bundle.root, key)

    verify_bundle(bundle.root, key.public_key())


def test_a_key_of_another_kind_is_refused():
    ed448 = Ed448PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    with pytest.raises(ValueError, match="must be Ed25519, not Ed448PrivateKey"):
        load_private_key(ed448)
    with pytest.raises(ValueError, match="not an unencrypted PKCS#8 PEM private key"):
        load_private_key(b"not a key")
