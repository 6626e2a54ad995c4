"""The `datamarket` client against a live marketplace, run as a user runs it: its own process and home."""

import json
import os
import signal
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from tests.client.conftest import one_error_line

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_licenses_search_download_and_verify(market, tmp_path):
    login = market.run("login", "--site", market.url, "--token", market.token)
    assert login.returncode == 0, login.stderr
    config_file = market.home / ".config" / "datamarket" / "config.json"
    assert json.loads(config_file.read_text()) == {"site": market.url, "token": market.token}
    assert config_file.stat().st_mode & 0o777 == 0o600

    licenses = market.run("licenses")
    assert licenses.returncode == 0, licenses.stderr
    assert market.license_id in licenses.stdout
    assert "harbour-nights" in licenses.stdout

    search = market.run("search", "harbour")
    assert search.returncode == 0, search.stderr
    assert "harbour-nights" in search.stdout
    assert "250.00 USD" in search.stdout

    downloaded = market.run("download", market.license_id, str(tmp_path / "data"))
    assert downloaded.returncode == 0, downloaded.stderr
    bundle = tmp_path / "data" / market.bundle_name
    assert {path: (bundle / path).read_bytes() for path in market.stored_files()} == market.stored_files()
    assert "signed SHA256SUMS verified" in downloaded.stdout

    verified = market.run("verify", str(bundle))
    assert verified.returncode == 0, verified.stderr
    assert f"{market.bundle_name}: signed SHA256SUMS verified; all" in verified.stdout


def downloaded_bundle(market, tmp_path) -> Path:
    done = market.run("download", market.license_id, str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    return tmp_path / "data" / market.bundle_name


def shard_path(market, bundle: Path) -> Path:
    (shard,) = sorted((bundle / "shards").glob("*.tar"))
    return shard


def test_a_download_killed_halfway_resumes_where_it_stopped(market, proxy, tmp_path):
    # Through a proxy that answers Range requests (as S3 and nginx do), slowly enough to be killed halfway.
    proxy.bytes_per_second = 2_000_000
    shard_size = max(len(content) for content in market.stored_files().values())
    assert shard_size > 3_000_000
    destination = tmp_path / "data"
    (shard,) = [path for path in market.stored_files() if path.startswith("shards/")]
    part = destination / market.bundle_name / f"{shard}.part"

    first = market.start("download", market.license_id, str(destination), "--jobs", "1", site=proxy.url)
    deadline = time.monotonic() + 60
    while not (part.is_file() and part.stat().st_size > shard_size // 3):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the shard's download never got a third of the way"
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate()
    kept = part.stat().st_size
    assert 0 < kept < shard_size

    proxy.bytes_per_second = None
    resumed = market.run("download", market.license_id, str(destination), "--jobs", "1", site=proxy.url)

    assert resumed.returncode == 0, resumed.stderr
    shard_requests = [seen for seen in proxy.downloads() if seen.range]
    assert len(shard_requests) == 1
    assert int(shard_requests[0].range.removeprefix("bytes=").rstrip("-")) == kept
    assert shard_requests[0].status == 206
    assert f"resumed at byte {kept}" in resumed.stderr
    bundle = destination / market.bundle_name
    assert {path: (bundle / path).read_bytes() for path in market.stored_files()} == market.stored_files()
    assert not list(bundle.rglob("*.part"))
    assert market.run("verify", str(bundle), site=proxy.url).returncode == 0


def test_the_site_itself_resumes_a_partial_file(market, tmp_path):
    bundle = downloaded_bundle(market, tmp_path)
    shard = shard_path(market, bundle)
    part = shard.with_name(shard.name + ".part")
    part.write_bytes(shard.read_bytes()[:100_000])
    shard.unlink()

    again = market.run("download", market.license_id, str(tmp_path / "data"))

    assert again.returncode == 0, again.stderr
    assert "1 resumed" in again.stdout
    assert shard.read_bytes() == market.stored_files()[shard.relative_to(bundle).as_posix()]


def test_a_partial_file_is_downloaded_again_whole_when_a_server_ignores_range(market, proxy, tmp_path):
    bundle = downloaded_bundle(market, tmp_path)
    shard = shard_path(market, bundle)
    part = shard.with_name(shard.name + ".part")
    part.write_bytes(shard.read_bytes()[:100_000])
    shard.unlink()
    proxy.honour_range = False

    again = market.run("download", market.license_id, str(tmp_path / "data"), site=proxy.url)

    assert again.returncode == 0, again.stderr
    assert "restarted (the server ignored the request to resume at byte 100000)" in again.stderr
    assert shard.read_bytes() == market.stored_files()[shard.relative_to(bundle).as_posix()]


def test_files_already_downloaded_are_not_fetched_again(market, proxy, tmp_path):
    destination = str(tmp_path / "data")
    assert market.run("download", market.license_id, destination, site=proxy.url).returncode == 0
    fetched = len(proxy.downloads())

    again = market.run("download", market.license_id, destination, site=proxy.url)

    assert again.returncode == 0, again.stderr
    assert len(proxy.downloads()) == fetched
    assert "(0 downloaded, 0 resumed," in again.stdout


def test_an_expired_link_is_asked_for_again(market, proxy, tmp_path):
    proxy.refuse_next_downloads = 1  # as the site answers a link past its 15 minutes

    done = market.run("download", market.license_id, str(tmp_path / "data"), "--jobs", "1", site=proxy.url)

    assert done.returncode == 0, done.stderr
    file_lists = [seen for seen in proxy.seen if seen.path.endswith("/files/")]
    assert len(file_lists) == 2
    assert proxy.downloads()[0].status == 403


def test_a_changed_byte_fails_verify_naming_the_file(market, tmp_path):
    bundle = downloaded_bundle(market, tmp_path)
    shard = shard_path(market, bundle)
    content = bytearray(shard.read_bytes())
    content[len(content) // 2] ^= 0x01
    shard.write_bytes(bytes(content))

    verified = market.run("verify", str(bundle))

    assert verified.returncode == 3
    relative = shard.relative_to(bundle).as_posix()
    assert f"FAILED {relative}: does not match its sha256 in SHA256SUMS" in verified.stdout
    assert (
        one_error_line(verified.stderr) == f"datamarket: error: verification failed for {market.bundle_name}"
    )


def test_verify_reads_every_files_content_credentials_and_their_rights(market, tmp_path):
    bundle = downloaded_bundle(market, tmp_path)

    verified = market.run("verify", str(bundle), "--content-credentials")

    assert verified.returncode == 0, verified.stderr
    assert (
        f"{market.bundle_name}: content credentials of 6 files valid and as the manifest says"
        in verified.stdout.splitlines()
    )


def test_a_changed_picture_fails_its_content_credentials(market, tmp_path):
    bundle = downloaded_bundle(market, tmp_path)
    shard = shard_path(market, bundle)
    with tarfile.open(shard) as archive:
        member = next(member for member in archive.getmembers() if member.name.endswith(".jpg"))
    content = bytearray(shard.read_bytes())
    picture = content[member.offset_data : member.offset_data + member.size]
    content[member.offset_data + picture.rfind(b"\xff\xda") + 40] ^= 0x01  # inside the picture's scan
    shard.write_bytes(bytes(content))

    verified = market.run("verify", str(bundle), "--content-credentials")

    assert verified.returncode == 3
    assert f"{market.bundle_name}: FAILED {member.name}: its C2PA manifest is Invalid" in verified.stdout


def test_content_credentials_that_disagree_with_the_manifest_are_named(market, tmp_path):
    bundle = downloaded_bundle(market, tmp_path)
    manifest = bundle / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    rows[0]["consent_uses"] = ["data_mining"]  # as if someone narrowed the row to hide what was granted
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))

    verified = market.run("verify", str(bundle), "--content-credentials")

    assert verified.returncode == 3
    assert f"FAILED {rows[0]['key']}.jpg: its C2PA grants [" in verified.stdout


def test_a_changed_checksum_list_fails_its_signature(market, tmp_path):
    bundle = downloaded_bundle(market, tmp_path)
    sums = bundle / "SHA256SUMS"
    sums.write_bytes(sums.read_bytes().replace(b"  README.md", b"  README.md "))

    verified = market.run("verify", str(bundle))

    assert verified.returncode == 3
    assert "SHA256SUMS.sig: not a signature of this SHA256SUMS by the site's key" in verified.stdout


def test_verify_works_offline_with_the_key_the_site_publishes(market, tmp_path):
    bundle = downloaded_bundle(market, tmp_path)
    key = tmp_path / "datamarket.pub.pem"
    key.write_bytes(
        (
            market.home / ".config" / "datamarket" / f"{market.url.split('//')[1].replace(':', '_')}.pub.pem"
        ).read_bytes()
    )
    other_home = tmp_path / "elsewhere"

    verified = market.run("verify", str(bundle), "--key", str(key), site="http://127.0.0.1:9")
    without_key = market.run("verify", str(bundle), site="http://127.0.0.1:9")

    assert verified.returncode == 0, verified.stderr
    assert without_key.returncode == 1
    assert "no public key for http://127.0.0.1:9 yet: pass --key FILE" in one_error_line(without_key.stderr)
    assert not other_home.exists()


def test_a_wrong_token_is_one_line_and_a_failure(market):
    for command in (("licenses",), ("login", "--token", "dm_not-a-token")):
        answer = market.run(*command, token="dm_not-a-token")

        assert answer.returncode == 1
        assert "the site refused the token" in one_error_line(answer.stderr)


def test_an_unknown_license_is_one_line_and_a_failure(market, tmp_path):
    unknown = market.run("download", str(uuid.uuid4()), str(tmp_path / "data"))
    not_an_id = market.run("download", "12", str(tmp_path / "data"))

    assert unknown.returncode == 1
    assert "you hold no license" in one_error_line(unknown.stderr)
    assert not_an_id.returncode == 2
    assert "'12' is not a license id" in one_error_line(not_an_id.stderr)


def test_a_server_that_is_down_is_one_line_and_a_failure(market, tmp_path):
    down = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback

    for command in (("licenses",), ("search", "harbour"), ("download", market.license_id, str(tmp_path))):
        answer = market.run(*command, site=down)

        assert answer.returncode == 1
        assert "cannot reach http://127.0.0.1:9" in one_error_line(answer.stderr)


def test_a_wrong_command_line_is_one_line(market):
    answer = market.run("download")

    assert answer.returncode == 2
    assert "the following arguments are required" in one_error_line(answer.stderr)


def test_ctrl_c_stops_with_one_line_and_keeps_the_partial_file(market, proxy, tmp_path):
    proxy.bytes_per_second = 2_000_000
    (shard,) = [path for path in market.stored_files() if path.startswith("shards/")]
    part = tmp_path / "data" / market.bundle_name / f"{shard}.part"
    running = market.start("download", market.license_id, str(tmp_path / "data"), site=proxy.url)
    deadline = time.monotonic() + 60
    while not (part.is_file() and part.stat().st_size > 500_000):
        assert running.poll() is None and time.monotonic() < deadline, running.communicate()
        time.sleep(0.05)

    running.send_signal(signal.SIGINT)
    _, stderr = running.communicate(timeout=60)

    assert running.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        "datamarket: error: interrupted; run the same command again to resume where it stopped"
    )
    assert part.stat().st_size > 500_000
