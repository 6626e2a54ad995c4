"""The `datamarket` command: argument parsing, output, and the one-line errors with their exit codes."""

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from datamarket import __version__, config
from datamarket.api import Api, HttpStatusError
from datamarket.bundle import (
    BUNDLE_NAME,
    SUMS_NAME,
    VerifyReport,
    apply_revocations,
    load_public_keys,
    verify_bundle,
)
from datamarket.credentials import CredentialsReport, verify_content_credentials
from datamarket.download import download_bundle, human
from datamarket.errors import ClientError

EXIT_UNVERIFIED = 3
REVOCATION_PAGES = 1000  # a bound on following next_since, in case a server keeps answering the same page


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a wrong command line is one line on stderr like every other error."""

    def error(self, message: str) -> NoReturn:
        print(f"datamarket: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _api(*, auth_site: str | None = None) -> Api:
    settings = config.load()
    return Api(config.normalize_site(auth_site) if auth_site else settings.site, settings.token)


def _public_key_pem(api: Api, *, refresh: bool = False) -> bytes:
    """The site's keys (current and retired), cached beside the settings so that `verify` works offline."""
    cached = config.public_key_path(api.site)
    if cached.is_file() and not refresh:
        return cached.read_bytes()
    pem = api.public_keys_pem()
    load_public_keys(pem, f"{api.site}/signing-keys.json")
    cached.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    cached.write_bytes(pem)
    return pem


# Commands -------------------------------------------------------------------------------------------------


def command_login(args: argparse.Namespace) -> int:
    settings = config.load()
    site = config.normalize_site(args.site or settings.site)
    token = args.token or os.environ.get("DATAMARKET_TOKEN")
    if not token:
        try:
            token = getpass.getpass(f"API token for {site} (make one at {site}/account/tokens/): ").strip()
        except EOFError:
            token = ""
    if not token:
        raise ClientError("no token given: pass --token or type it at the prompt", 2)
    me = Api(site, token).get("/api/v1/me/")
    _public_key_pem(Api(site, token), refresh=True)
    path = config.save(config.Settings(site=site, token=token))
    who = me.get("email") or me.get("display_name") or "this account"
    print(f"Logged in to {site} as {who}; settings saved in {path}")
    return 0


def command_search(args: argparse.Namespace) -> int:
    api = _api()
    found: list[dict[str, Any]] = []
    cursor = None
    while len(found) < args.limit:
        page = api.get(
            "/api/v1/datasets/",
            {"q": args.text, "cursor": cursor, "page_size": min(100, args.limit - len(found))},
            auth=False,
        )
        found.extend(page.get("results") or [])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if not found:
        print(f"No dataset on sale matches {args.text!r}.")
        return 0
    rows = []
    for item in found[: args.limit]:
        version = item.get("version") or {}
        price = item.get("price_from_cents")
        currency = str(item.get("currency") or "usd").upper()
        rows.append(
            (
                item.get("slug"),
                item.get("title"),
                f"v{version.get('number', '?')}",
                f"{price / 100:,.2f} {currency}" if isinstance(price, int) else "-",
                version.get("items", "-"),
                human(version.get("bytes") or 0),
            )
        )
    _table(rows, ("SLUG", "TITLE", "VERSION", "PRICE FROM", "SAMPLES", "SIZE"))
    return 0


def command_licenses(args: argparse.Namespace) -> int:
    licenses = _api().get("/api/v1/licenses/")
    if not licenses:
        print("No licenses yet: buy one on the site, then `datamarket download` it.")
        return 0
    _table(
        [
            (item["id"], item["dataset"], f"v{item['version']}", item["tier"], item["status"])
            for item in licenses
        ],
        ("ID", "DATASET", "VERSION", "TIER", "STATUS"),
    )
    return 0


def command_download(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise ClientError("--jobs must be at least 1", 2)
    api = _api()
    # Fetched afresh: a key cached before the site rotated to a new one cannot verify what it signs now.
    keys = load_public_keys(_public_key_pem(api, refresh=True), "the site's public keys")
    result = download_bundle(api, args.license, Path(args.dest), jobs=args.jobs)
    print(
        f"{result.root}: {result.files} files ({result.fetched} downloaded, {result.resumed} resumed, "
        f"{result.skipped} already complete)"
    )
    return _print_reports([verify_bundle(result.root, *keys)])


def command_verify(args: argparse.Namespace) -> int:
    if args.key:
        key_path = Path(args.key)
    else:
        key_path = config.public_key_path(config.load().site)
        if not key_path.is_file():
            raise ClientError(
                f"no public key for {config.load().site} yet: pass --key FILE "
                "(the site publishes its keys at /signing-keys.json) or run `datamarket login`"
            )
    try:
        pem = key_path.read_bytes()
    except OSError as error:
        raise ClientError(f"cannot read the key {key_path}: {error.strerror}") from None
    keys = load_public_keys(pem, str(key_path))
    directory = Path(args.dir)
    if not directory.is_dir():
        raise ClientError(f"{directory} is not a folder")
    # A bundle's folder, or a folder of downloaded bundles.
    bundles = (
        [directory]
        if (directory / SUMS_NAME).is_file()
        else sorted(path.parent for path in directory.glob(f"*/{SUMS_NAME}"))
    )
    if not bundles:
        raise ClientError(f"{directory} holds no bundle (no {SUMS_NAME} in it or in its folders)")
    reports: list[VerifyReport | CredentialsReport] = [verify_bundle(bundle, *keys) for bundle in bundles]
    if args.content_credentials:
        reports += [verify_content_credentials(bundle) for bundle in bundles]
    return _print_reports(reports)


def _print_reports(reports: Sequence[VerifyReport | CredentialsReport]) -> int:
    for report in reports:
        for failure in report.failures:
            print(f"{report.bundle.name}: FAILED {failure}")
        print(report.summary())
    if any(not report.ok for report in reports):
        failed = list(dict.fromkeys(report.bundle.name for report in reports if not report.ok))
        raise ClientError(f"verification failed for {', '.join(failed)}", EXIT_UNVERIFIED)
    return 0


def command_revocations(args: argparse.Namespace) -> int:
    api = _api()
    revocations: list[dict[str, Any]] = []
    since = args.since
    for _ in range(REVOCATION_PAGES):
        try:
            page = api.get("/api/v1/revocations/", {"since": since})
        except HttpStatusError as error:
            if error.status == 404:
                raise ClientError(
                    f"{api.site} does not list revocations (HTTP 404 from /api/v1/revocations/)"
                ) from None
            raise
        results = page.get("results") or []
        revocations.extend(results)
        following = page.get("next_since")
        if not results or not following or following == since:
            break
        since = following
    if not revocations:
        print("No revocations" + (f" since {args.since}." if args.since else "."))
    else:
        _table(
            [
                (
                    item.get("created_at", ""),
                    item.get("bundle", ""),
                    len(item.get("sample_keys") or []),
                    item.get("replacement_version") or "-",
                    item.get("reason") or "",
                )
                for item in revocations
            ],
            ("DATE", "BUNDLE", "SAMPLES", "NEW VERSION", "REASON"),
        )
    if args.apply:
        _apply(Path(args.apply), revocations)
    if since and since != args.since:
        print(f"Next time: datamarket revocations --since {since}")
    return 0


def _apply(directory: Path, revocations: list[dict[str, Any]]) -> None:
    if not directory.is_dir():
        raise ClientError(f"{directory} is not a folder")
    by_bundle: dict[str, list[dict[str, Any]]] = {}
    for revocation in revocations:
        if not isinstance(revocation, dict) or not revocation.get("id"):
            raise ClientError("the site's revocations lack their id; is the site up to date?")
        if not BUNDLE_NAME.fullmatch(str(revocation.get("bundle"))):
            raise ClientError(
                f"refusing the bundle name {revocation.get('bundle')!r} in the site's revocations"
            )
        by_bundle.setdefault(str(revocation["bundle"]), []).append(revocation)
    for bundle, items in sorted(by_bundle.items()):
        root = directory / bundle
        if not (root / SUMS_NAME).is_file():
            print(f"{bundle}: not downloaded in {directory}; nothing to remove")
            continue
        result = apply_revocations(root, items)
        if result.removed_keys:
            print(
                f"{bundle}: removed {len(result.removed_keys)} revoked samples "
                f"({', '.join(result.removed_keys)}); changed {', '.join(result.changed_files)}"
            )
        else:
            print(f"{bundle}: already up to date")
        for note in result.notes:
            print(f"{bundle}: {note}")


# Entry point ------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="datamarket", description="The marketplace's buyer client.")
    parser.add_argument("--version", action="version", version=f"datamarket {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )

    login = commands.add_parser("login", help="check a token and store it with the site's address")
    login.add_argument(
        "--site", help=f"the site's address (default: the stored one, else {config.DEFAULT_SITE})"
    )
    login.add_argument("--token", help="the API token (asked for when not given)")
    login.set_defaults(run=command_login)

    search = commands.add_parser("search", help="search the catalog")
    search.add_argument("text", metavar="TEXT")
    search.add_argument("--limit", type=int, default=50, help="at most this many results (default 50)")
    search.set_defaults(run=command_search)

    licenses = commands.add_parser("licenses", help="list your licenses")
    licenses.set_defaults(run=command_licenses)

    download = commands.add_parser("download", help="download a licensed bundle, resuming, and verify it")
    download.add_argument("license", metavar="LICENSE_ID")
    download.add_argument("dest", metavar="DEST", help="the bundle goes to DEST/<dataset>-v<N>/")
    download.add_argument("--jobs", "-j", type=int, default=4, help="files downloaded at once (default 4)")
    download.set_defaults(run=command_download)

    verify = commands.add_parser("verify", help="check a bundle offline: signature and every checksum")
    verify.add_argument("dir", metavar="DIR", help="a bundle's folder, or a folder of bundles")
    verify.add_argument(
        "--key", metavar="PEM_FILE", help="the site's public key or keys (default: the cached copy)"
    )
    verify.add_argument(
        "--content-credentials",
        action="store_true",
        help="also read every file's C2PA manifest and check its rights against the bundle's manifest",
    )
    verify.set_defaults(run=command_verify)

    revocations = commands.add_parser("revocations", help="list revoked samples; --apply deletes them")
    revocations.add_argument("--since", metavar="ISO", help="only revocations after this date and time")
    revocations.add_argument("--apply", metavar="DIR", help="remove revoked samples from the bundles in DIR")
    revocations.set_defaults(run=command_revocations)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ClientError as error:
        print(f"datamarket: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("datamarket: interrupted", file=sys.stderr)
        return 130
    except OSError as error:  # a folder that cannot be written, a full disk...
        where = f" ({error.filename})" if error.filename else ""
        print(f"datamarket: error: {error.strerror or error}{where}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug, or an answer no check foresaw: still one line, not a traceback
        print(f"datamarket: error: unexpected {type(error).__name__}: {error}", file=sys.stderr)
        return 1
