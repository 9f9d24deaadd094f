"""Where a merchant webhook may point: public http(s) servers, never livecart's own network.

A shop token holder chooses the URL livecart POSTs to, so an unchecked URL would let them
reach the database, Redis or the cloud's metadata service (169.254.169.254) from inside.
Registration refuses URLs naming a non-public host; delivery (webhook/delivery.py) checks
every address the name resolves to, because DNS can change after registration.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from catalog.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: IPv6 prefixes that carry an IPv4 address livecart must judge instead (NAT64)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: IPAddress) -> bool:
    """A globally reachable unicast address: not loopback, private, link-local, multicast,
    reserved or unspecified, also when wrapped in IPv6 (::ffff:10.0.0.1, 64:ff9b::a00:1)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def literal_address(host: str) -> IPAddress | None:
    """The IP address a URL's host spells, also in the old IPv4 forms (127.1, 0x7f000001,
    2130706433) that resolvers accept; None for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_local_name(host: str) -> bool:
    """`localhost` and its subdomains, which resolve to this machine by convention."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def check_endpoint_url(url: str, *, allow_private: bool) -> str:
    """The URL if livecart may POST events to it, else InvalidInput saying why.

    Only https (http too when `allow_private`, for a receiver on the same machine in
    development), no user:password@, and unless `allow_private` a host that is neither a
    non-public IP address nor `localhost`.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"not a valid URL: {exc}", "url") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("a webhook URL must start with https://", "url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "a webhook URL must not carry a user name or password; "
            "check the webhook-signature header instead",
            "url",
        )
    host = parts.hostname
    if not host:
        raise InvalidInput("a webhook URL needs a host name", "url")
    if port == 0:
        raise InvalidInput("a webhook URL needs a real port", "url")
    if allow_private:
        return url.strip()
    address = literal_address(host)
    if is_local_name(host) or (address is not None and not is_public_address(address)):
        raise InvalidInput(
            f"a webhook URL must point to a public server, not {host} "
            "(a local or private network address)",
            "url",
        )
    if parts.scheme == "http":
        raise InvalidInput(
            "a webhook URL must use https:// (events carry customers' orders)", "url"
        )
    return url.strip()
