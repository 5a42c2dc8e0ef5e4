"""Which URLs a webhook may point at.  Pure: no Flask, no database (the resolver is
passed in, so tests need no DNS).

A webhook makes the site send requests to an address an administrator typed, so a
careless or hostile URL would let the site probe its own network (server-side request
forgery): the database on localhost, an admin port on 10.0.0.5, the cloud metadata
service on 169.254.169.254.  So a URL is refused unless

* its scheme is http or https, it names a host, and it carries no user name or
  password (credentials in a URL end up in logs);
* its host is a name, or an IP address written the plain way: 0x7f000001,
  2130706433, 0177.0.0.1 and 127.1 all mean 127.0.0.1 to some parsers and not to
  others, so they are refused rather than guessed at;
* every address the host resolves to is public.  A private, loopback or shared
  address is accepted only when the administrator allowed private addresses
  (`allow_private`, from IDEAS_WEBHOOK_ALLOW_PRIVATE); link-local (the metadata
  service), multicast, unspecified and reserved addresses never are.

IPv4-mapped (::ffff:10.0.0.1), 6to4 and Teredo IPv6 addresses are judged by the IPv4
address inside them.  The sender checks again at send time and connects to the address
it checked, so a name that later resolves elsewhere (DNS rebinding) gains nothing.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from socket import getaddrinfo
from urllib.parse import urlsplit

MAX_URL = 2000
SCHEMES = {"http": 80, "https": 443}

Resolver = Callable[..., list]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_DOTTED_QUAD = re.compile(r"^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$")


class UnsafeUrlError(ValueError):
    """A webhook URL the site will not call; the message says why, for the administrator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckedUrl:
    url: str
    scheme: str
    host: str  # for the Host header and the TLS server name (IPv6 without brackets)
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # resolved and allowed, in the resolver's order


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        # NAT64 (64:ff9b::/96) carries the IPv4 address in its last 32 bits.
        if address in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why the site must not connect to `address` (“a loopback address …”), or None."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        problem = address_problem(inner, allow_private=allow_private)
        return f"{problem} inside an IPv6 address" if problem else None
    if address.is_unspecified or (isinstance(address, ipaddress.IPv4Address)
                                  and address in ipaddress.ip_network("0.0.0.0/8")):
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address (such as a cloud metadata service)"
    if address.is_loopback:
        return None if allow_private else LOOPBACK
    if address.is_reserved:
        return "a reserved address"
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    if address.is_private or site_local or not address.is_global:
        return None if allow_private else PRIVATE
    return None


# The two kinds an administrator may allow (the others are never reachable).
LOOPBACK = "a loopback address (this server itself)"
PRIVATE = "a private address"


def check_url(url: str, *, allow_private: bool = False, resolve: Resolver | None = None) -> CheckedUrl:
    """Parse, resolve and judge a webhook URL; raise UnsafeUrlError with the reason.

    `resolve` works like socket.getaddrinfo (the default, looked up at each call so
    tests can stand in for DNS)."""
    resolve = resolve or getaddrinfo
    raw = (url or "").strip()
    if not raw:
        raise UnsafeUrlError("Enter the URL the site should send events to.")
    if len(raw) > MAX_URL:
        raise UnsafeUrlError(f"Keep the URL under {MAX_URL:,} characters.")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in raw):
        raise UnsafeUrlError("A URL has no spaces or control characters.")
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise UnsafeUrlError("This is not a URL the site can read.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise UnsafeUrlError(f"Webhook URLs start with http:// or https:// ({shown} is not allowed).")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsafeUrlError("Leave the user name and password out of the URL: every request is "
                             "signed with the endpoint's secret instead.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrlError("The URL needs a host, e.g. https://tools.example.com/ideas-hook.")
    try:
        port = parts.port if parts.port is not None else SCHEMES[scheme]
    except ValueError:
        raise UnsafeUrlError("The port in the URL is not a number from 1 to 65535.") from None
    if not 1 <= port <= 65535:
        raise UnsafeUrlError("The port in the URL is not a number from 1 to 65535.")

    literal = _literal(host.split("%", 1)[0])
    if literal is None:
        labels = host.lower().split(".")
        if all(_NUMERIC_LABEL.match(label) for label in labels) and not _DOTTED_QUAD.match(host):
            raise UnsafeUrlError(f"“{host}” looks like an IP address in an unusual form: write it as four "
                                 "decimal numbers (such as 203.0.113.7), or use the host's name.")
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise UnsafeUrlError(f"“{host}” is not a valid host name.") from None
    elif "%" in host:
        raise UnsafeUrlError("Leave the IPv6 zone (%…) out of the URL.")

    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = resolve(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise UnsafeUrlError(f"“{host}” could not be resolved ({_reason(error)}).") from None
        addresses = []
        for info in found:
            address = _literal(str(info[4][0]).split("%", 1)[0])
            if address is not None and address not in addresses:
                addresses.append(address)
        if not addresses:
            raise UnsafeUrlError(f"“{host}” has no address.")
    for address in addresses:
        problem = address_problem(address, allow_private=allow_private)
        if problem:
            where = f"{address} is" if literal is not None else f"“{host}” resolves to {address},"
            allowable = problem.startswith((LOOPBACK, PRIVATE))
            raise UnsafeUrlError(f"{where} {problem}: webhooks may not call it."
                                 + (" An administrator may allow private addresses with the "
                                    "IDEAS_WEBHOOK_ALLOW_PRIVATE setting." if allowable else ""))

    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    return CheckedUrl(
        url=raw, scheme=scheme, host=host, port=port, target=target,
        addresses=tuple(str(a) for a in addresses),
    )


def _reason(error: Exception) -> str:
    if isinstance(error, socket.gaierror) and len(error.args) > 1:
        return str(error.args[1]).lower()
    return str(error) or type(error).__name__
