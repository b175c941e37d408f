"""Where a webhook may be sent: the SSRF guard.

A destination is an https URL without user information, at most ``MAX_URL_LENGTH``
characters, whose host resolves only to public addresses (``ipaddress``'s ``is_global``), or
to addresses in the networks the operator allows (``webhook_allowed_networks``). The check
runs when a subscription is created or changed (422 with the reason) and again before every
delivery, against a fresh resolution: a name that now resolves to a private address (DNS
rebinding) fails that attempt with the reason, and no request is sent. The delivery then
connects to exactly the address that was checked (see delivery.py), not to a second lookup.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(ValueError):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked destination: the URL's parts and the addresses it resolved to."""

    url: str
    host: str  # as in the URL, without brackets
    port: int
    target: str  # path and query
    addresses: tuple[IPAddress, ...]

    @property
    def host_is_address(self) -> bool:
        return _literal_address(self.host) is not None


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """The comma-separated CIDRs of the allowed-networks setting."""
    networks: list[IPNetwork] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not a network such as '10.0.0.0/8'") from None
    return tuple(networks)


def check_url(url: str) -> SplitResult:
    """The URL's parts if its form may receive webhooks (not yet where it points)."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise DestinationRefused("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise DestinationRefused(f"the URL is not valid: {error}") from None
    if parts.scheme.lower() != "https":
        raise DestinationRefused("the URL must start with https:// (webhooks are sent over TLS)")
    if "@" in parts.netloc:
        raise DestinationRefused("the URL may not contain a user name or password")
    if not parts.hostname:
        raise DestinationRefused("the URL has no host")
    if port == 0:
        raise DestinationRefused("the URL's port must be between 1 and 65535")
    if parts.fragment:
        raise DestinationRefused("the URL may not contain a fragment (#…)")
    return parts


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host name resolves to (tests replace this to simulate DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_allowed(address: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    """Public (and not multicast), or inside a network the operator allows."""
    address = _unmapped(address)
    if any(address.version == net.version and address in net for net in allowed):
        return True
    return address.is_global and not address.is_multicast


def check_destination(url: str, allowed: Sequence[IPNetwork]) -> Destination:
    """The checked destination of a URL, resolved now; DestinationRefused says why not."""
    parts = check_url(url)
    host = parts.hostname or ""
    port = parts.port or 443
    literal = _literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise DestinationRefused(f"the host {host} does not resolve to an address") from None
        if not addresses:
            raise DestinationRefused(f"the host {host} does not resolve to an address")
    refused = sorted({str(a) for a in addresses if not address_allowed(a, allowed)})
    if refused:
        raise DestinationRefused(
            f"the host {host} resolves to {', '.join(refused)}, which is not a public "
            "address; the operator may allow such networks (webhook_allowed_networks)"
        )
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(
        url=url, host=host, port=port, target=target, addresses=tuple(dict.fromkeys(addresses))
    )
