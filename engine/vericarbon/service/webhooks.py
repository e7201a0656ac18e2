"""Webhook targets and their delivery, safe against server-side request forgery.

A registry's webhook URL makes the service send requests, so a URL that names the service's own machine or
network (loopback, private, link-local, multicast, unspecified or reserved addresses) would turn it into a
proxy into places the registry cannot reach. A target is therefore resolved, and refused when any address
it resolves to is such an address, in whatever spelling the host was written (decimal `2130706433`, octal,
hex, short `127.1`, IPv4-mapped IPv6, a trailing dot): the resolver reads those spellings, so the check is
on what it returns, never on the text. It is checked when registered and again at each delivery, and the
request connects to the address that was checked, so a name that resolves elsewhere the second time (DNS
rebinding) reaches nothing new. Redirects are never followed (http.client does not follow them; a 3xx
answer is a failed delivery). https is required unless the operator allows http for a listed host
(`serve --webhook-allow-http HOST`); a listed host may also be on the operator's own network, which is how
a local receiver (the tests') is reached without weakening the default.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Vericarbon-Signature"  # "sha256=" + hex HMAC-SHA256 of the body with the subscriber's secret


class RefusedTarget(ValueError):
    """A webhook URL the service will not call, with the reason."""


@dataclass(frozen=True)
class Policy:
    """The operator's exceptions: hosts (exactly as written in the URL) that may use http and may be internal."""

    allow_http: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (a vetted address) and what to ask for there."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None and _internal(embedded):
            return True
    return (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
            or address.is_unspecified or address.is_reserved or not address.is_global)


def check_target(url: str, policy: Policy) -> Target:
    """The target of `url`, resolved and vetted now; RefusedTarget says why not."""
    if not isinstance(url, str) or len(url) > 2000:
        raise RefusedTarget("a webhook is a URL of at most 2000 characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedTarget(f"not a URL ({error})") from None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise RefusedTarget("a webhook is an https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("a webhook URL carries no user name or password")
    allowed = host in policy.allow_http
    if parts.scheme == "http" and not allowed:
        raise RefusedTarget(f"a webhook is https; http only for a host the operator allows (serve --webhook-allow-http {host})")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedTarget(f"the host {host!r} does not resolve ({error})") from None
    addresses = [ipaddress.ip_address(entry[4][0].split("%")[0]) for entry in found]
    internal = sorted({str(a) for a in addresses if _internal(a)})
    if internal and not allowed:
        raise RefusedTarget(f"the host {host!r} resolves to an address of the service's own machine or network ({', '.join(internal)})")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, str(addresses[0]))


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a vetted address, whatever the host name resolves to now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to a vetted address; the certificate is checked against the host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self.address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], policy: Policy, timeout: float) -> str | None:
    """POST `body` to a webhook within `timeout` seconds; None when it answered 2xx, else why not (the
    URL is vetted again first)."""
    try:
        target = check_target(url, policy)
    except RefusedTarget as refused:
        return f"refused: {refused}"
    connection = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, timeout)
    # the socket's timeout bounds each wait; this bounds the whole exchange (an endpoint that answers a
    # byte at a time): shutting the socket down wakes the thread blocked on it
    deadline = threading.Timer(timeout, lambda: connection.sock and connection.sock.shutdown(socket.SHUT_RDWR))
    deadline.start()
    try:
        connection.request("POST", target.path, body=body, headers={"Content-Type": "application/json", **headers})
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as failure:
        return f"{type(failure).__name__}: {failure}"[:500]
    finally:
        deadline.cancel()
        connection.close()
    if 300 <= status < 400:
        return f"HTTP {status} (redirects are not followed)"
    return None if 200 <= status < 300 else f"HTTP {status}"
