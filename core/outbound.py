"""Requests to a URL a user named (a buyer's webhook endpoint): they reach public addresses only, go to the
very address that was checked, and end by a deadline, whatever the other end does.

One check, `public_addresses`, runs when the URL is registered and again when each request is made; the
socket is then connected to an address it returned, so a name that re-resolves to 127.0.0.1 in between (DNS
rebinding) gains nothing. TLS still checks the certificate against the name, and the Host header carries it.

Why the standard library, and not a package: `advocate` (the SSRF-safe `requests` adapter) is unmaintained;
`requests`/urllib3 can pin an address (`server_hostname`) but bound each socket operation, not the attempt,
so an endpoint that drips a byte a second holds the worker for as long as it likes; aiohttp has both a pinning
resolver and a total timeout, but would bring asyncio and half a dozen packages for one POST. So
`http.client` speaks HTTP over a socket this module connects, and a timer cuts the socket at the deadline.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from socket import getaddrinfo  # the one resolver used here: tests stand in for DNS by replacing it
from types import TracebackType
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# What went wrong, in fixed words: what the other end sent or said is never passed on (it would make the
# delivery log a way to read services the caller cannot reach).
ADDRESS_NOT_ALLOWED = "address not allowed"
NOT_RESOLVED = "could not resolve"
TIMEOUT = "timeout"
CONNECTION_REFUSED = "connection refused"
UNREACHABLE = "could not connect"
TLS_ERROR = "TLS error"
NO_HTTP_ANSWER = "no HTTP answer"
BAD_PORT = "invalid port"

# Not reachable on the internet, yet counted global by `ipaddress` on Python 3.11 (later versions agree):
# IETF protocol assignments, and NAT64 prefixes for local use.
_NOT_GLOBAL = (ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("64:ff9b:1::/48"))
# The well-known NAT64 prefix: the IPv4 address is its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundError(Exception):
    """A request not made or not answered; `reason` is one of the fixed phrases above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), which is where a packet to it goes."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True if the address is a unicast one on the public internet: not loopback, private (RFC 1918, ULA),
    link-local, shared (CGNAT), multicast, unspecified, reserved, documentation or benchmarking, nor any of
    those in IPv6 dress."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local:
            return False
    return (
        address.is_global
        and not any(address in network for network in _NOT_GLOBAL if network.version == address.version)
        and not (
            address.is_multicast
            or address.is_private
            or address.is_reserved
            or address.is_loopback
            or address.is_link_local
            or address.is_unspecified
        )
    )


def host_name(hostname: str) -> str:
    """The host as resolved, sent in SNI and named in the Host header: IDNA-encoded the way the resolver
    reads it, lower case, without a trailing dot ("LOCALHOST." and "ⓛocalhost" are "localhost")."""
    try:
        name = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise OutboundError(NOT_RESOLVED) from error
    return name[:-1] if name.endswith(".") else name


def public_addresses(host: str, port: int, *, allow_private: bool = False) -> list[IPAddress]:
    """The addresses `host` resolves to, checked: every one must be public (a name with one private address
    among public ones is refused whole), unless `allow_private` (development and tests). Numeric spellings
    (2130706433, 0177.0.0.1, 0x7f.1, 127.1, ::ffff:7f00:1) are read by the resolver, so they are checked as
    the address they mean."""
    try:
        answers = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise OutboundError(NOT_RESOLVED) from error
    addresses: list[IPAddress] = []
    for family, *_, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # connected to as what it is
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundError(NOT_RESOLVED)
    if not allow_private and not all(is_public(address) for address in addresses):
        raise OutboundError(ADDRESS_NOT_ALLOWED)
    return addresses


@dataclass(frozen=True)
class Target:
    """Where a URL's request goes: the name (for SNI, the certificate and the Host header) and the checked
    addresses the socket connects to."""

    scheme: str
    host: str
    port: int
    addresses: list[IPAddress]


def checked_target(url: str, *, allow_private: bool = False) -> Target:
    """The URL's host, resolved and checked (`public_addresses`): run when a URL is accepted and again before
    each request, which then connects to these addresses only."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise OutboundError(BAD_PORT) from error
    host = host_name(parts.hostname or "")
    return Target(parts.scheme, host, port, public_addresses(host, port, allow_private=allow_private))


class _Deadline:
    """Cuts the watched socket when the time is up, whatever call it is blocked in (a read that gets one byte a
    second never times out on its own). The lock keeps the cut off a socket closed and its number reused."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self.passed = False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            self.passed = True
            raise OutboundError(TIMEOUT)
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socket = sock
        sock.settimeout(self.remaining())

    def _cut(self) -> None:
        with self._lock:
            self.passed = True
            if self._socket is not None:
                # Not connected yet, it raises: the connect's own timeout is the time left.
                with contextlib.suppress(OSError):
                    # The plain socket's shutdown, also for a TLS one: it stops a read in another thread.
                    socket.socket.shutdown(self._socket, socket.SHUT_RDWR)

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._socket = None


def _connect(addresses: list[IPAddress], port: int, deadline: _Deadline) -> socket.socket:
    """A socket connected to the first of the checked addresses that accepts, tried in order."""
    failure: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            deadline.watch(sock)
            sock.connect((str(address), port))
            return sock
        except OSError as error:
            sock.close()
            failure = error
        except OutboundError:
            sock.close()
            raise
    if isinstance(failure, ConnectionRefusedError):
        raise OutboundError(CONNECTION_REFUSED)
    if isinstance(failure, TimeoutError) or deadline.passed:
        raise OutboundError(TIMEOUT)
    raise OutboundError(UNREACHABLE)


def post(
    url: str, body: bytes, headers: dict[str, str], *, deadline_seconds: float, allow_private: bool = False
) -> int:
    """POST `body` to `url` and return the status answered; from the connect on (connect, TLS, sending, the
    answer's status and headers) the attempt ends within `deadline_seconds`, the name's lookup before it being
    bounded by the system resolver's own timeout. Redirects are answers, never followed. Raises
    OutboundError."""
    target = checked_target(url, allow_private=allow_private)
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    with _Deadline(deadline_seconds) as deadline:
        sock = _connect(target.addresses, target.port, deadline)
        try:
            if target.scheme == "https":
                context = ssl.create_default_context()
                # The handshake after the swap, so that the deadline can cut it too.
                sock = context.wrap_socket(sock, server_hostname=target.host, do_handshake_on_connect=False)
                deadline.watch(sock)
                sock.do_handshake()
                connection = http.client.HTTPSConnection(target.host, target.port, context=context)
            else:
                connection = http.client.HTTPConnection(target.host, target.port)
            connection.sock = sock  # connected here: http.client never resolves the name itself
            path = parts.path or "/"
            connection.request("POST", f"{path}?{parts.query}" if parts.query else path, body, headers)
            answer = connection.getresponse()
            answer.close()  # its body is never read: only the status is kept
            if deadline.passed:
                # Cut mid-headers, http.client takes the end of the stream for the end of the headers.
                raise OutboundError(TIMEOUT)
            return answer.status
        except ssl.SSLError as error:
            raise OutboundError(TIMEOUT if deadline.passed else TLS_ERROR) from error
        except TimeoutError as error:
            raise OutboundError(TIMEOUT) from error
        except (OSError, http.client.HTTPException) as error:
            raise OutboundError(TIMEOUT if deadline.passed else NO_HTTP_ANSWER) from error
        finally:
            sock.close()
