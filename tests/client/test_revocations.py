"""`datamarket revocations --apply` on a bundle downloaded from a live site, with the revocations served by
a stand-in for `/api/v1/revocations/` that answers its contract."""

import hashlib
import json
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as parquet
import pytest
from datamarket import bundle as local_bundle

from tests.client.conftest import one_error_line

pytestmark = pytest.mark.django_db(transaction=True)

REVOCATION_ID = "5b0c1f7e-8d55-4a3e-9a51-0f3f3c1b2a10"
WITHDRAWN_AT = "2026-11-20T09:15:00+00:00"
CREATED_AT = "2026-11-20T09:16:02+00:00"


class Revocations:
    """Serves the contract of GET /api/v1/revocations/?since=: one page of results, then nothing newer."""

    def __init__(self, results: list[dict]) -> None:
        self.results = results
        self.asked: list[tuple[str | None, str | None]] = []  # (since, Authorization)
        self.url = ""

    def answer(self, since: str | None) -> dict:
        if since is None:
            return {"results": self.results, "next_since": CREATED_AT}
        return {"results": [], "next_since": since}


@pytest.fixture
def revocations_site() -> Iterator[Revocations]:
    site = Revocations([])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            since = parse_qs(url.query).get("since", [None])[0]
            site.asked.append((since, self.headers.get("Authorization")))
            if url.path != "/api/v1/revocations/":
                status, body = 404, {"error": {"status": 404, "code": "not_found", "message": "Not found.", "fields": {}}}  # fmt: skip
            else:
                status, body = 200, site.answer(since)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()


def revocation(market, keys: list[str]) -> dict:
    return {
        "id": REVOCATION_ID,
        "license": market.license_id,
        "dataset": "harbour-nights",
        "version": market.version.number,
        "bundle": market.bundle_name,
        "sample_keys": keys,
        "reason": "The creator withdrew consent for this photo.",
        "withdrawn_at": WITHDRAWN_AT,
        "created_at": CREATED_AT,
        "replacement_version": None,
    }


def manifest_keys(bundle: Path) -> list[str]:
    return [json.loads(line)["key"] for line in (bundle / "manifest.jsonl").read_text().splitlines()]


def shard_keys(bundle: Path) -> set[str]:
    keys = set()
    for shard in (bundle / "shards").glob("*.tar"):
        with tarfile.open(shard) as archive:
            keys |= {local_bundle.sample_key(name) for name in archive.getnames()}
    return keys


def tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def downloaded(market, tmp_path) -> Path:
    assert market.run("login", "--token", market.token).returncode == 0
    done = market.run("download", market.license_id, str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    return tmp_path / "data" / market.bundle_name


def test_apply_removes_the_revoked_sample_and_verify_still_passes(market, downloaded, revocations_site):
    keys = manifest_keys(downloaded)
    revoked = keys[1]
    revocations_site.results = [revocation(market, [revoked])]
    signed_sums = (downloaded / "SHA256SUMS").read_bytes()

    applied = market.run("revocations", "--apply", str(downloaded.parent), site=revocations_site.url)

    assert applied.returncode == 0, applied.stderr
    assert f"{market.bundle_name}: removed 1 revoked samples ({revoked})" in applied.stdout
    assert revocations_site.asked == [(None, f"Token {market.token}"), (CREATED_AT, f"Token {market.token}")]
    assert manifest_keys(downloaded) == [key for key in keys if key != revoked]
    assert shard_keys(downloaded) == set(keys) - {revoked}
    assert revoked not in parquet.read_table(downloaded / "manifest.parquet")["key"].to_pylist()
    record = json.loads((downloaded / "REVOKED.json").read_text())
    assert [
        (entry["id"], entry["sample_keys"], entry["withdrawn_at"]) for entry in record["revocations"]
    ] == [(REVOCATION_ID, [revoked], WITHDRAWN_AT)]
    shard = next(path for path in record["changed_files"] if path.startswith("shards/"))
    assert record["changed_files"] == sorted([shard, "croissant.json", "manifest.jsonl", "manifest.parquet"])
    assert (downloaded / "SHA256SUMS").read_bytes() == signed_sums

    verified = market.run("verify", str(downloaded))

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert (
        f"{market.bundle_name}: signed SHA256SUMS verified; 4 files changed by applied revocations "
        "(listed in REVOKED.json), checked against SHA256SUMS.local"
    ) in verified.stdout


def test_after_apply_croissant_still_reads_the_samples_and_their_photos(market, downloaded, revocations_site):
    mlc = pytest.importorskip("mlcroissant")
    keys = manifest_keys(downloaded)
    revocations_site.results = [revocation(market, [keys[0]])]

    applied = market.run("revocations", "--apply", str(downloaded.parent), site=revocations_site.url)

    assert applied.returncode == 0, applied.stderr
    dataset = mlc.Dataset(jsonld=downloaded / "croissant.json")  # it checks each file's sha256 first
    assert [record["samples/key"].decode() for record in dataset.records("samples")] == keys[1:]
    assert sorted(record["photos/key"].decode() for record in dataset.records("photos")) == sorted(keys[1:])


def test_applying_twice_changes_nothing_more(market, downloaded, revocations_site):
    revocations_site.results = [revocation(market, [manifest_keys(downloaded)[0]])]
    first = market.run("revocations", "--apply", str(downloaded.parent), site=revocations_site.url)
    assert first.returncode == 0, first.stderr
    after_first = tree(downloaded)

    second = market.run("revocations", "--apply", str(downloaded.parent), site=revocations_site.url)

    assert second.returncode == 0, second.stderr
    assert f"{market.bundle_name}: already up to date" in second.stdout
    assert tree(downloaded) == after_first


def test_a_local_change_after_apply_still_fails_verify(market, downloaded, revocations_site):
    revocations_site.results = [revocation(market, [manifest_keys(downloaded)[0]])]
    assert (
        market.run("revocations", "--apply", str(downloaded.parent), site=revocations_site.url).returncode
        == 0
    )
    with (downloaded / "manifest.jsonl").open("a") as stream:
        stream.write("{}\n")

    verified = market.run("verify", str(downloaded))

    assert verified.returncode == 3
    assert "FAILED manifest.jsonl: does not match its sha256 in SHA256SUMS.local" in verified.stdout


def test_without_pyarrow_the_parquet_manifest_is_left_and_said_so(market, downloaded, monkeypatch):
    monkeypatch.setattr(local_bundle, "pyarrow_installed", lambda: False)
    parquet_before = (downloaded / "manifest.parquet").read_bytes()
    revoked = manifest_keys(downloaded)[0]

    result = local_bundle.apply_revocations(downloaded, [revocation(market, [revoked])])

    assert result.removed_keys == [revoked]
    assert "manifest.parquet" not in result.changed_files
    assert (downloaded / "manifest.parquet").read_bytes() == parquet_before
    record = json.loads((downloaded / "REVOKED.json").read_text())
    assert record["manifest_parquet"].startswith("manifest.parquet still lists the revoked samples")
    assert result.notes == [record["manifest_parquet"]]
    key = local_bundle.load_public_key(
        next((market.home / ".config" / "datamarket").glob("*.pub.pem")).read_bytes(), "key"
    )
    assert local_bundle.verify_bundle(downloaded, key).ok


def test_a_revocation_for_a_bundle_not_downloaded_here_is_reported(market, tmp_path, revocations_site):
    revocations_site.results = [revocation(market, ["some-key"])]
    (tmp_path / "empty").mkdir()

    listed = market.run("revocations", "--apply", str(tmp_path / "empty"), site=revocations_site.url)

    assert listed.returncode == 0, listed.stderr
    assert f"{market.bundle_name}: not downloaded in" in listed.stdout
    assert "The creator withdrew consent for this photo." in listed.stdout


def test_a_site_without_revocations_is_one_line(market, tmp_path, revocations_site):
    answer = market.run(
        "revocations", site=revocations_site.url.replace("127.0.0.1", "localhost") + "/nowhere"
    )

    assert answer.returncode == 1
    assert "does not list revocations (HTTP 404 from /api/v1/revocations/)" in one_error_line(answer.stderr)


def test_downloading_again_does_not_bring_revoked_samples_back(market, downloaded, revocations_site):
    revoked = manifest_keys(downloaded)[0]
    revocations_site.results = [revocation(market, [revoked])]
    assert (
        market.run("revocations", "--apply", str(downloaded.parent), site=revocations_site.url).returncode
        == 0
    )
    applied = tree(downloaded)

    again = market.run("download", market.license_id, str(downloaded.parent))

    assert again.returncode == 0, again.stderr
    assert "manifest.jsonl: kept as applied revocations left it (REVOKED.json)" in again.stderr
    assert tree(downloaded) == applied
    assert revoked not in manifest_keys(downloaded)
