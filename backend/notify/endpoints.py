"""Which push endpoints the server may POST to: https on public addresses only (API.md "Hardening").

The server fetches whatever URL a keeper registers, so an endpoint on loopback, a private network,
link-local (cloud metadata) or a reserved range would let a keeper probe the server's network.
Checked when the subscription is saved, and again when each message is sent: the connection
goes only to an address the resolver has just judged public (a name that now resolves elsewhere,
"DNS rebinding", is refused at connect time), and redirects are never followed.

`CUNZHAN_PUSH_ALLOW_HTTP=1` (tests, bench_push) also lets plain http and loopback through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from urllib.parse import urlsplit


class EndpointNotPublic(OSError):
    """The endpoint's host is, or resolves to, an address the server must not call."""


def allow_http_switch() -> bool:
    return os.environ.get("CUNZHAN_PUSH_ALLOW_HTTP") == "1"


def is_public_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    if allow_http_switch() and ip.is_loopback:
        return True
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def host_name_refused(host: str) -> bool:
    name = host.rstrip(".").lower()
    if allow_http_switch():
        return False
    return name == "localhost" or name.endswith((".localhost", ".local", ".internal"))


async def resolve_public(host: str, port: int) -> list[str]:
    """The host's addresses, or EndpointNotPublic when it has none or any of them is not public."""
    if host_name_refused(host):
        raise EndpointNotPublic(f"{host} is not a public host")
    try:
        ipaddress.ip_address(host.strip("[]"))
        addresses = [host.strip("[]")]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise EndpointNotPublic(f"{host} does not resolve") from exc
        addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses or not all(is_public_address(address) for address in addresses):
        raise EndpointNotPublic(f"{host} is not a public address")
    return addresses


async def check_endpoint(endpoint: str) -> None:
    """Raises EndpointNotPublic unless the endpoint is https (or the test switch) to a public
    address."""
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise EndpointNotPublic("not a URL") from exc
    allowed = ("https", "http") if allow_http_switch() else ("https",)
    if parts.scheme not in allowed or not host:
        raise EndpointNotPublic("not https")
    await resolve_public(host, port or (443 if parts.scheme == "https" else 80))
