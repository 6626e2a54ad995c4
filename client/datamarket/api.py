"""HTTP to the marketplace: JSON calls with the token, download streams, and errors turned into one line."""

import json
import socket
import ssl
import urllib.error
import urllib.request
from http.client import HTTPException, HTTPResponse
from typing import Any
from urllib.parse import urlencode, urlsplit

from datamarket import __version__
from datamarket.errors import ClientError

TIMEOUT_SECONDS = 60
USER_AGENT = f"datamarket/{__version__}"


class HttpStatusError(ClientError):
    """The server answered with an error status; `status` lets callers treat some (403, 404, 416) specially."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _error_message(error: urllib.error.HTTPError, url: str) -> str:
    """The API's own message when the body has the one error shape, else the status and where it came from."""
    try:
        body = json.loads(error.read(64 * 1024) or b"null")
    except (ValueError, OSError, HTTPException):
        body = None
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict) and detail.get("message"):
        message = str(detail["message"]).strip()
        fields = detail.get("fields")
        if isinstance(fields, dict) and fields and not message:
            message = "; ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in fields.items())
        return f"{message} (HTTP {error.code})"
    return f"HTTP {error.code} {error.reason} from {urlsplit(url).netloc}{urlsplit(url).path}"


def _unreachable(url: str, error: BaseException) -> ClientError:
    reason = getattr(error, "reason", None) or error
    if isinstance(reason, ssl.SSLError):
        return ClientError(f"TLS error talking to {urlsplit(url).netloc}: {reason}")
    if isinstance(reason, socket.timeout | TimeoutError):
        return ClientError(f"{urlsplit(url).netloc} did not answer within {TIMEOUT_SECONDS} s")
    text = getattr(reason, "strerror", None) or str(reason)
    return ClientError(f"cannot reach {urlsplit(url).scheme}://{urlsplit(url).netloc}: {text}")


def open_url(url: str, headers: dict[str, str] | None = None) -> HTTPResponse:
    """An open response for a 2xx answer; HttpStatusError or ClientError otherwise, never a traceback."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ClientError(f"refusing a link that is not http(s): {url[:80]}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})  # noqa: S310
    try:
        response: HTTPResponse = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)  # noqa: S310
    except urllib.error.HTTPError as error:
        with error:
            raise HttpStatusError(_error_message(error, url), error.code) from None
    except (urllib.error.URLError, OSError, HTTPException) as error:
        raise _unreachable(url, error) from None
    return response


class Api:
    """The site's /api/v1/ with a token (when there is one)."""

    def __init__(self, site: str, token: str | None) -> None:
        self.site = site
        self.token = token

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
        return f"{self.site}{path}" + (f"?{query}" if query else "")

    def get(self, path: str, params: dict[str, Any] | None = None, *, auth: bool = True) -> Any:
        headers = {"Accept": "application/json"}
        if auth:
            if not self.token:
                raise ClientError("not logged in: run `datamarket login` (or set DATAMARKET_TOKEN)")
            headers["Authorization"] = f"Token {self.token}"
        url = self.url(path, params)
        try:
            with open_url(url, headers) as response:
                body = response.read()
        except HttpStatusError as error:
            if error.status == 401:
                raise HttpStatusError(
                    f"the site refused the token: {error}; run `datamarket login` with a valid one", 401
                ) from None
            raise
        except (OSError, HTTPException) as error:
            raise _unreachable(url, error) from None
        try:
            return json.loads(body)
        except ValueError:
            raise ClientError(f"{self.site} answered {path} with something that is not JSON") from None

    def public_keys_pem(self) -> bytes:
        """Every public key the site signs or signed with (current first, then retired), as PEM blocks.

        A site that has never rotated its key, or predates /signing-keys.json, answers with its one key.
        """
        try:
            published = self.get("/signing-keys.json", auth=False)
        except HttpStatusError as error:
            if error.status != 404:
                raise
            return self.public_key_pem()
        keys = published.get("keys") if isinstance(published, dict) else None
        listed = [key.get("pem") if isinstance(key, dict) else None for key in keys or []]
        pems = [pem for pem in listed if isinstance(pem, str) and "BEGIN PUBLIC KEY" in pem]
        if not pems or len(pems) != len(listed):
            raise ClientError(f"{self.url('/signing-keys.json')} does not list PEM public keys")
        return "".join(f"{pem.rstrip()}\n" for pem in pems).encode()

    def public_key_pem(self) -> bytes:
        """The site's current public signing key, as published at /signing-key.pem."""
        url = self.url("/signing-key.pem")
        try:
            with open_url(url) as response:
                pem = response.read(64 * 1024)
        except (OSError, HTTPException) as error:
            raise _unreachable(url, error) from None
        if b"BEGIN PUBLIC KEY" not in pem:
            raise ClientError(f"{url} is not a PEM public key")
        return pem
