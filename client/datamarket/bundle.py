"""A downloaded bundle on disk: its signed checksums, their verification, and removing revoked samples.

SHA256SUMS is GNU coreutils' format (`<hex sha256>  <path>` per line); SHA256SUMS.sig is the raw Ed25519
signature of SHA256SUMS's exact bytes. Removing a revoked sample changes files the signature covers, so
the changed files' new digests go to SHA256SUMS.local (every file as it now is, the same format) and what
was removed to REVOKED.json; the signed files are kept as they came, so the signature still verifies.
"""

import hashlib
import importlib.util
import json
import os
import re
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from datamarket.errors import ClientError

SUMS_NAME = "SHA256SUMS"
SIGNATURE_NAME = "SHA256SUMS.sig"
LOCAL_SUMS_NAME = "SHA256SUMS.local"
REVOKED_NAME = "REVOKED.json"
MANIFEST_JSONL = "manifest.jsonl"
MANIFEST_PARQUET = "manifest.parquet"
CROISSANT_NAME = "croissant.json"
CHUNK_BYTES = 1 << 20
TAR_BLOCK = 512
PUBLIC_KEY_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)
# `<slug>-v<N>`: a single folder name, so a name from the site can never point outside the destination.
BUNDLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def load_public_key(pem: bytes, origin: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise ClientError(f"{origin} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ClientError(f"{origin} is not an Ed25519 key")
    return key


def load_public_keys(pem: bytes, origin: str) -> list[Ed25519PublicKey]:
    """Every key in a file of PEM blocks: the site's current key and those it retired, or a single key."""
    blocks = PUBLIC_KEY_BLOCK.findall(pem)
    if not blocks:
        raise ClientError(f"{origin} is not a PEM public key")
    return [load_public_key(block, origin) for block in blocks]


def parse_sums(text: bytes, origin: str) -> dict[str, str]:
    """Path -> hex sha256 from a GNU-format checksum file; ClientError on a malformed line."""
    digests: dict[str, str] = {}
    for number, line in enumerate(text.decode("utf-8", "replace").splitlines(), 1):
        digest, separator, relative = line.partition("  ")
        if not separator or len(digest) != 64 or not relative:
            raise ClientError(f"{origin} line {number} is not `<sha256>  <path>`")
        digests[relative] = digest.lower()
    return digests


def sums_text(digests: Mapping[str, str]) -> bytes:
    return "".join(f"{digests[relative]}  {relative}\n" for relative in sorted(digests)).encode()


def safe_path(root: Path, relative: str) -> Path:
    """`root / relative`, refusing a path that would leave the bundle (a checksum file is not trusted yet)."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise ClientError(f"refusing the bundle path {relative!r}: it leaves the bundle's folder")
    return root.joinpath(*pure.parts)


@dataclass
class VerifyReport:
    bundle: Path
    files: int = 0
    failures: list[str] = field(default_factory=list)
    locally_changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        if not self.ok:
            return f"{self.bundle.name}: {len(self.failures)} of {self.files} files failed verification"
        text = f"{self.bundle.name}: signed {SUMS_NAME} verified"
        if self.locally_changed:
            return (
                f"{text}; {len(self.locally_changed)} files changed by applied revocations "
                f"(listed in {REVOKED_NAME}), checked against {LOCAL_SUMS_NAME}"
            )
        return f"{text}; all {self.files} files match"


def _signed_by_any(sums: bytes, signature: bytes, public_keys: Iterable[Ed25519PublicKey]) -> bool:
    for public_key in public_keys:
        try:
            public_key.verify(signature, sums)
        except InvalidSignature:
            continue
        return True
    return False


def verify_bundle(root: Path, *public_keys: Ed25519PublicKey) -> VerifyReport:
    """Check SHA256SUMS's signature, then every file it lists (against SHA256SUMS.local where changed).

    The signature may be by any of `public_keys`: a bundle bought before the site rotated its key is signed
    with a key the site has since retired.
    """
    report = VerifyReport(bundle=root)
    sums_path, signature_path = root / SUMS_NAME, root / SIGNATURE_NAME
    if not sums_path.is_file() or not signature_path.is_file():
        raise ClientError(f"{root} is not a bundle: it has no {SUMS_NAME} and {SIGNATURE_NAME}")
    sums = sums_path.read_bytes()
    if not _signed_by_any(sums, signature_path.read_bytes(), public_keys):
        report.failures.append(f"{SIGNATURE_NAME}: not a signature of this {SUMS_NAME} by the site's key")
        return report
    signed = parse_sums(sums, SUMS_NAME)
    local = read_local_sums(root)
    report.files = len(signed)
    for relative in sorted(signed):
        expected = signed[relative]
        if relative in local and local[relative] != expected:
            expected = local[relative]
            report.locally_changed.append(relative)
        path = safe_path(root, relative)
        if not path.is_file():
            report.failures.append(f"{relative}: missing")
        elif sha256_file(path) != expected:
            where = LOCAL_SUMS_NAME if relative in report.locally_changed else SUMS_NAME
            report.failures.append(f"{relative}: does not match its sha256 in {where}")
    return report


def read_local_sums(root: Path) -> dict[str, str]:
    path = root / LOCAL_SUMS_NAME
    return parse_sums(path.read_bytes(), LOCAL_SUMS_NAME) if path.is_file() else {}


# Revocations -------------------------------------------------------------------------------------------


def sample_key(member_name: str) -> str:
    """The WebDataset key of a shard member: its name up to the first dot of its last path component."""
    directory, _, base = member_name.rpartition("/")
    stem = base.split(".", 1)[0]
    return f"{directory}/{stem}" if directory else stem


def shard_without(path: Path, keys: set[str]) -> list[str]:
    """Rewrite the shard without the members of `keys`; the member names removed (none: file untouched).

    Kept members are copied byte for byte, headers included, so a WebDataset reader sees exactly the
    samples it saw before, less the revoked ones.
    """
    with tarfile.open(path, "r:") as archive:
        members = archive.getmembers()
    removed = [member.name for member in members if sample_key(member.name) in keys]
    if not removed:
        return []
    temporary = path.with_name(path.name + ".rewrite")
    with path.open("rb") as source, temporary.open("wb") as target:
        for member in members:
            if sample_key(member.name) in keys:
                continue
            # From the member's first header block (pax or long-name records included) to its padded end.
            end = member.offset_data + -(-member.size // TAR_BLOCK) * TAR_BLOCK
            source.seek(member.offset)
            _copy_exactly(source, target, end - member.offset)
        target.write(bytes(2 * TAR_BLOCK))  # the end-of-archive marker
        target.flush()
        os.fsync(target.fileno())
    os.replace(temporary, path)
    return removed


def _copy_exactly(source: Any, target: Any, count: int) -> None:
    while count:
        chunk = source.read(min(count, CHUNK_BYTES))
        if not chunk:
            raise ClientError(f"{source.name} ends in the middle of a member")
        target.write(chunk)
        count -= len(chunk)


def jsonl_without(path: Path, keys: set[str]) -> list[str]:
    """Drop the manifest.jsonl lines of `keys`; the keys whose lines were dropped."""
    kept: list[bytes] = []
    dropped: list[str] = []
    for line in path.read_bytes().splitlines(keepends=True):
        key = json.loads(line).get("key") if line.strip() else None
        if key in keys:
            dropped.append(key)
        else:
            kept.append(line)
    if dropped:
        _write_atomically(path, b"".join(kept))
    return dropped


def pyarrow_installed() -> bool:
    """Whether manifest.parquet can be rewritten: pyarrow is large, so the client does not depend on it."""
    return importlib.util.find_spec("pyarrow") is not None


def _parquet_revoked_rows(path: Path, keys: set[str]) -> tuple[Any, Any]:
    """The manifest table and a mask of its revoked rows (pyarrow is imported only when installed)."""
    import pyarrow as arrow
    import pyarrow.compute as compute
    import pyarrow.parquet as parquet

    table = parquet.read_table(path)
    return table, compute.is_in(table["key"], value_set=arrow.array(sorted(keys), arrow.string()))


def _parquet_has(path: Path, keys: set[str]) -> bool:
    import pyarrow.compute as compute

    _, revoked = _parquet_revoked_rows(path, keys)
    return bool(compute.any(revoked).as_py())


def parquet_without(path: Path, keys: set[str]) -> None:
    """Rewrite manifest.parquet without the rows of `keys` (the caller checked that pyarrow is installed)."""
    import pyarrow.compute as compute
    import pyarrow.parquet as parquet

    table, revoked = _parquet_revoked_rows(path, keys)
    temporary = path.with_name(path.name + ".rewrite")
    parquet.write_table(table.filter(compute.invert(revoked)), temporary, compression="zstd")
    os.replace(temporary, path)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".rewrite")
    with temporary.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


PARQUET_LEFT = (
    f"{MANIFEST_PARQUET} still lists the revoked samples: rewriting it needs pyarrow "
    f"(pip install pyarrow, then apply again); use {MANIFEST_JSONL}, which is up to date"
)


@dataclass
class ApplyResult:
    bundle: str
    removed_keys: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def apply_revocations(root: Path, revocations: Iterable[Mapping[str, Any]]) -> ApplyResult:
    """Remove the samples `revocations` name from the bundle at `root`; applying again changes nothing.

    REVOKED.json is written before any file changes and lists the files about to change, so a run killed
    halfway is completed by the next one (which rehashes every file REVOKED.json lists).
    """
    result = ApplyResult(bundle=root.name)
    revocations = list(revocations)
    keys = {str(key) for revocation in revocations for key in revocation.get("sample_keys") or []}
    record = _read_revoked(root)
    known_ids = {entry["id"] for entry in record["revocations"]}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    new_entries = [
        {
            "id": revocation["id"],
            "license": revocation.get("license"),
            "sample_keys": sorted(str(key) for key in revocation.get("sample_keys") or []),
            "reason": revocation.get("reason"),
            "withdrawn_at": revocation.get("withdrawn_at"),
            "created_at": revocation.get("created_at"),
            "replacement_version": revocation.get("replacement_version"),
            "applied_at": now,
        }
        for revocation in revocations
        if revocation["id"] not in known_ids
    ]

    shards = sorted((root / "shards").glob("*.tar")) if (root / "shards").is_dir() else []
    planned = [shard for shard in shards if _shard_has(shard, keys)]
    jsonl = root / MANIFEST_JSONL
    parquet = root / MANIFEST_PARQUET
    to_change = [path.relative_to(root).as_posix() for path in planned]
    if jsonl.is_file() and _jsonl_has(jsonl, keys):
        to_change.append(MANIFEST_JSONL)
    pyarrow_present = pyarrow_installed()
    if parquet.is_file() and pyarrow_present and _parquet_has(parquet, keys):
        to_change.append(MANIFEST_PARQUET)
    if to_change and (root / CROISSANT_NAME).is_file():
        # It states each file's sha256 and size, which mlcroissant checks before it reads a file.
        to_change.append(CROISSANT_NAME)

    changed_before = set(record["changed_files"])
    record["revocations"].extend(new_entries)
    record["changed_files"] = sorted(changed_before | set(to_change))
    if parquet.is_file() and not pyarrow_present and keys:
        record["manifest_parquet"] = PARQUET_LEFT
        result.notes.append(PARQUET_LEFT)
    elif parquet.is_file() and MANIFEST_PARQUET in record["changed_files"]:
        record["manifest_parquet"] = "rewritten without the revoked samples"
    if record != _read_revoked(root):
        _write_atomically(root / REVOKED_NAME, (json.dumps(record, indent=2) + "\n").encode())

    for shard in planned:
        removed = shard_without(shard, keys)
        result.removed_keys.extend(sample_key(name) for name in removed)
    if jsonl.is_file():
        result.removed_keys.extend(jsonl_without(jsonl, keys))
    if parquet.is_file() and MANIFEST_PARQUET in to_change:
        parquet_without(parquet, keys)
    result.removed_keys = sorted(set(result.removed_keys))
    result.changed_files = sorted(to_change)
    _write_local_sums(root, record["changed_files"])
    return result


def _croissant_describing(root: Path, digests: Mapping[str, str]) -> None:
    """croissant.json with the sha256 and size of each changed file as it now is (written as the site does)."""
    path = root / CROISSANT_NAME
    try:
        document = json.loads(path.read_text())
    except ValueError:
        raise ClientError(f"{path} is not JSON; download the bundle again") from None
    for entry in document.get("distribution") or []:
        relative = entry.get("contentUrl") if isinstance(entry, dict) else None
        if isinstance(relative, str) and relative in digests and relative != CROISSANT_NAME:
            entry["sha256"] = digests[relative]
            entry["contentSize"] = f"{safe_path(root, relative).stat().st_size} B"
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if path.read_text() != text:
        _write_atomically(path, text.encode())


def _read_revoked(root: Path) -> dict[str, Any]:
    path = root / REVOKED_NAME
    if not path.is_file():
        return {"revocations": [], "changed_files": []}
    try:
        record = json.loads(path.read_text())
    except ValueError:
        raise ClientError(f"{path} is not JSON; restore it or download the bundle again") from None
    record.setdefault("revocations", [])
    record.setdefault("changed_files", [])
    return dict(record)


def _shard_has(shard: Path, keys: set[str]) -> bool:
    try:
        with tarfile.open(shard, "r:") as archive:
            return any(sample_key(name) in keys for name in archive.getnames())
    except tarfile.TarError as error:
        raise ClientError(f"{shard} is not a readable tar ({error}); download the bundle again") from None


def _jsonl_has(path: Path, keys: set[str]) -> bool:
    with path.open("rb") as stream:
        try:
            return any(line.strip() and json.loads(line).get("key") in keys for line in stream)
        except (ValueError, AttributeError):
            raise ClientError(f"{path} has a line that is not a JSON object; download it again") from None


def _write_local_sums(root: Path, changed_files: list[str]) -> None:
    """SHA256SUMS.local: every signed file's digest as the file now is (rehashing only the changed ones)."""
    if not changed_files:
        return
    digests = parse_sums((root / SUMS_NAME).read_bytes(), SUMS_NAME)
    for relative in changed_files:
        path = safe_path(root, relative)
        if path.is_file() and relative != CROISSANT_NAME:
            digests[relative] = sha256_file(path)
    if CROISSANT_NAME in changed_files:
        _croissant_describing(
            root, {relative: digests[relative] for relative in changed_files if relative in digests}
        )
        digests[CROISSANT_NAME] = sha256_file(root / CROISSANT_NAME)
    text = sums_text(digests)
    local = root / LOCAL_SUMS_NAME
    if not local.is_file() or local.read_bytes() != text:
        _write_atomically(local, text)
