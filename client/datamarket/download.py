"""Downloading a license's bundle: files in parallel, each resumed from its `.part`, checked against its sha256.

Download links expire (15 minutes on the site), so a link is asked for again when it is about to expire or
is refused; the links need no token (a signed site link or a presigned S3 URL), and none is sent with them,
because S3 refuses a request that carries two kinds of authorization.
"""

import os
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

from datamarket.api import Api, HttpStatusError, open_url
from datamarket.bundle import (
    BUNDLE_NAME,
    REVOKED_NAME,
    SUMS_NAME,
    parse_sums,
    read_local_sums,
    safe_path,
    sha256_file,
)
from datamarket.errors import ClientError

READ_BYTES = 256 * 1024
# A link this close to its expiry is renewed before use rather than risk a refusal halfway through a file.
EXPIRY_MARGIN = timedelta(seconds=30)
ATTEMPTS_PER_FILE = 5
PART_SUFFIX = ".part"


class Interrupted(ClientError):
    def __init__(self) -> None:
        super().__init__("interrupted; run the same command again to resume where it stopped", 130)


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str
    url: str
    expires_at: datetime


def license_path(license_id: str) -> str:
    try:
        return f"/api/v1/licenses/{UUID(license_id)}/"
    except ValueError:
        raise ClientError(
            f"{license_id!r} is not a license id; `datamarket licenses` lists yours", 2
        ) from None


def _parse_files(answer: Any) -> dict[str, RemoteFile]:
    if not isinstance(answer, list):
        raise ClientError("the site's file list is not a list; is this a datamarket site?")
    try:
        return {
            item["path"]: RemoteFile(
                path=item["path"],
                size=int(item["size"]),
                sha256=str(item["sha256"]).lower(),
                url=item["url"],
                expires_at=datetime.fromisoformat(item["expires_at"].replace("Z", "+00:00")),
            )
            for item in answer
        }
    except (KeyError, TypeError, ValueError):
        raise ClientError("the site's file list lacks path, size, sha256, url or expires_at") from None


class Links:
    """The license's file list, renewed (once, whichever thread notices first) when its links expire."""

    def __init__(self, api: Api, license_id: str) -> None:
        self._api = api
        self._path = license_path(license_id) + "files/"
        self._lock = threading.Lock()
        self.files = _parse_files(api.get(self._path))
        self.renewals = 0

    def current(self, path: str) -> RemoteFile:
        with self._lock:
            file = self.files[path]
            if file.expires_at - EXPIRY_MARGIN <= datetime.now(UTC):
                self._renew()
            return self.files[path]

    def renew_if_still(self, stale: RemoteFile) -> None:
        """Ask for fresh links, unless another thread already did since `stale` was handed out."""
        with self._lock:
            if self.files[stale.path].url == stale.url:
                self._renew()

    def _renew(self) -> None:
        self.files = _parse_files(self._api.get(self._path))
        self.renewals += 1


class Progress:
    """Bytes done of the total, on stderr: a redrawn bar on a terminal, otherwise a line per file."""

    def __init__(self, total: int, files: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.files = total, files
        self.stream = stream
        self.live = stream.isatty()
        self._done: dict[str, int] = {}
        self._finished = 0
        self._lock = threading.Lock()
        self._drawn_at = 0.0

    def set(self, path: str, done: int) -> None:
        with self._lock:
            self._done[path] = done
            self._draw()

    def note(self, path: str, message: str, *, finished: bool = False) -> None:
        with self._lock:
            self._finished += finished
            if self.live:
                self._draw(force=True)
            else:
                print(f"{path}: {message}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.live:
            with self._lock:
                self._draw(force=True)
                print(file=self.stream, flush=True)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.live or (not force and now - self._drawn_at < 0.1):
            return
        self._drawn_at = now
        done = sum(self._done.values())
        fraction = done / self.total if self.total else 1.0
        bar = "#" * int(fraction * 30)
        self.stream.write(
            f"\r[{bar:<30}] {human(done)} / {human(self.total)}  {self._finished}/{self.files} files "
        )
        self.stream.flush()


def human(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


@dataclass
class DownloadResult:
    root: Path
    files: int
    fetched: int = 0
    skipped: int = 0
    resumed: int = 0
    restarted: int = 0


def download_bundle(
    api: Api,
    license_id: str,
    destination: Path,
    *,
    jobs: int = 4,
    progress_stream: TextIO = sys.stderr,
) -> DownloadResult:
    """Every file of the license's bundle into `destination/<dataset>-v<N>/`, each checked against its sha256."""
    try:
        detail = api.get(license_path(license_id))
    except HttpStatusError as error:
        if error.status == 404:
            raise ClientError(
                f"you hold no license {license_id} on {api.site} (HTTP 404); `datamarket licenses` lists yours"
            ) from None
        raise
    try:
        bundle_name = f"{detail['dataset']}-v{int(detail['version'])}"
    except (KeyError, TypeError, ValueError):
        raise ClientError("the site's license answer has no dataset and version") from None
    if not BUNDLE_NAME.fullmatch(bundle_name):
        raise ClientError(f"refusing the bundle name {bundle_name!r}")
    links = Links(api, license_id)
    root = destination / bundle_name
    for path in links.files:
        safe_path(root, path)  # refuse a path that would leave the bundle before writing anything
    result = DownloadResult(root=root, files=len(links.files))
    signed = parse_sums((root / SUMS_NAME).read_bytes(), SUMS_NAME) if (root / SUMS_NAME).is_file() else {}
    revised = {path: digest for path, digest in read_local_sums(root).items() if signed.get(path) != digest}
    progress = Progress(sum(file.size for file in links.files.values()), len(links.files), progress_stream)
    stop = threading.Event()
    counts = threading.Lock()

    def fetch(path: str) -> None:
        outcome = _fetch_file(root, path, links, progress, stop, revised)
        with counts:
            setattr(result, outcome, getattr(result, outcome) + 1)
            if outcome == "restarted":  # downloaded whole after all
                result.fetched += 1

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="download")
    try:
        # The largest files first: with several threads, the download then ends on small ones.
        ordered = sorted(links.files.values(), key=lambda file: -file.size)
        futures = [pool.submit(fetch, file.path) for file in ordered]
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failure = next((future.exception() for future in finished if future.exception()), None)
        if failure is not None:
            stop.set()
            raise failure
    except KeyboardInterrupt:
        stop.set()
        raise Interrupted() from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()
    return result


def _fetch_file(
    root: Path,
    path: str,
    links: Links,
    progress: Progress,
    stop: threading.Event,
    revised: dict[str, str],
) -> str:
    """Download one file; which of "skipped", "fetched", "resumed" or "restarted" it took.

    `revised` holds the digests, from SHA256SUMS.local, of the files that applied revocations changed.
    """
    target = safe_path(root, path)
    wanted = links.files[path]
    if target.is_file() and target.stat().st_size == wanted.size and sha256_file(target) == wanted.sha256:
        progress.set(path, wanted.size)
        progress.note(path, "already complete", finished=True)
        return "skipped"
    if path in revised and target.is_file() and sha256_file(target) == revised[path]:
        # Downloading it again would bring back the samples `revocations --apply` removed.
        progress.set(path, wanted.size)
        progress.note(path, f"kept as applied revocations left it ({REVOKED_NAME})", finished=True)
        return "skipped"
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART_SUFFIX)
    outcome = "fetched"
    failures: list[str] = []
    while True:
        if stop.is_set():
            raise Interrupted()
        if len(failures) >= ATTEMPTS_PER_FILE:
            raise ClientError(f"{path}: gave up after {ATTEMPTS_PER_FILE} attempts ({failures[-1]})")
        offset = part.stat().st_size if part.is_file() else 0
        if offset > wanted.size:
            part.unlink()
            offset = 0
        if offset == wanted.size:
            break
        link = links.current(path)
        try:
            started = _stream_into(part, link, offset, progress, stop)
        except Interrupted:
            raise
        except HttpStatusError as error:
            if error.status in (401, 403):  # expired (site: 403; S3: 403 "Request has expired")
                links.renew_if_still(link)
            elif error.status == 416:  # the .part is not a prefix the server recognizes: start over
                part.unlink(missing_ok=True)
            elif error.status == 404:
                raise ClientError(f"{path}: the site no longer has this file (HTTP 404)") from None
            failures.append(str(error))
            continue
        except (
            OSError,
            HTTPException,
            ClientError,
        ) as error:  # the connection dropped: resume from the .part
            failures.append(f"connection lost: {error}")
            time.sleep(min(2 ** len(failures) * 0.25, 5))
            continue
        if offset and outcome == "fetched":
            outcome = "resumed" if started == offset else "restarted"
            progress.note(
                path,
                f"resumed at byte {offset}"
                if started == offset
                else f"restarted (the server ignored the request to resume at byte {offset})",
            )
    digest = sha256_file(part)
    if digest != wanted.sha256:
        part.unlink()
        raise ClientError(f"{path}: downloaded, but its sha256 does not match the site's list; run again")
    os.replace(part, target)
    progress.set(path, wanted.size)
    progress.note(path, f"downloaded ({human(wanted.size)})", finished=True)
    return outcome


def _stream_into(part: Path, link: RemoteFile, offset: int, progress: Progress, stop: threading.Event) -> int:
    """Append the link's bytes from `offset` to `part` (or rewrite it when the server sends it whole).

    Returns the offset the server actually continued from: `offset` if it honoured the Range request, 0 if
    it answered the whole file.
    """
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with open_url(link.url, headers) as response:
        content_range = response.headers.get("Content-Range") or ""
        honoured = response.status == 206 and content_range.startswith(f"bytes {offset}-")
        start = offset if honoured else 0
        done = start
        with part.open("ab" if honoured else "wb") as stream:
            while chunk := response.read(READ_BYTES):
                if stop.is_set():
                    raise Interrupted()
                stream.write(chunk)
                done += len(chunk)
                progress.set(link.path, done)
    if done != link.size:
        raise ConnectionError(f"the connection closed after {done} of {link.size} bytes")
    return start
