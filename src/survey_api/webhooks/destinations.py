"""Where a webhook may be sent: the SSRF guard.

A destination is an https URL without user information, at most ``MAX_URL_LENGTH``
characters, whose host resolves only to public addresses (``ipaddress``'s ``is_global``), or
to addresses in the networks the operator allows (``webhook_allowed_networks``). An IPv6
address that carries an IPv4 address (IPv4-mapped and -translated, IPv4-compatible, NAT64
``64:ff9b::/96``, 6to4, Teredo) is judged by the IPv4 address it carries; local-use NAT64
``64:ff9b:1::/48`` is refused unless allowed. A host name is stored and sent in its ASCII
(IDNA) form: ``bücher.example`` becomes ``xn--bcher-kva.example`` in the URL, the ``Host``
header and TLS's server name; a name that has no such form is refused. The check
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

import idna

MAX_URL_LENGTH = 2000
HOST_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
# Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the operator's prefix.
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")

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
    host = ascii_host(parts.hostname)
    if host != parts.hostname:
        netloc = f"[{host}]" if ":" in host else host
        if port is not None:
            netloc += f":{port}"
        parts = parts._replace(netloc=netloc)
    return parts


def ascii_host(host: str) -> str:
    """The host as sent: an address as is, a name in its ASCII (IDNA) form, lower case."""
    if _literal_address(host) is not None:
        return host
    try:
        encoded = idna.encode(host.rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise DestinationRefused(
            f"the host {host!r} is not a valid host name (letters, digits and hyphens in "
            "labels separated by dots, or an international name that has an ASCII form)"
        ) from None
    if not encoded or not set(encoded) <= HOST_NAME_CHARACTERS:
        raise DestinationRefused(f"the host {host!r} is not a valid host name")
    return encoded


def normalised_url(url: str) -> str:
    """The URL as stored and compared: its host in ASCII (IDNA) form (DestinationRefused if
    the URL's form may not receive webhooks)."""
    return check_url(url).geturl()


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host name resolves to (tests replace this to simulate DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def embedded_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...] | None:
    """The IPv4 addresses an IPv6 address carries (a packet to it reaches them), or None if
    it carries none."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    last32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo  # (server, client)
    if address in NAT64 or address in IPV4_TRANSLATED:
        return (last32,)
    if address in IPV4_COMPATIBLE and int(address) > 1:  # not :: or ::1 (judged as IPv6)
        return (last32,)
    return None


def _in(address: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in allowed)


def _public(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


def address_allowed(address: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    """Public (and not multicast), or inside a network the operator allows; an IPv6 address
    carrying IPv4 addresses only if each of those is (local-use NAT64 only if allowed)."""
    if _in(address, allowed):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address in LOCAL_NAT64:
        return False
    carried = embedded_ipv4(address)
    if carried is not None:
        return all(_in(v4, allowed) or _public(v4) for v4 in carried)
    return _public(address)


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
