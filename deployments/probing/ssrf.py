"""The SSRF guard: which URLs and addresses the prober may reach.

Health checks are URLs typed by users, fetched by the server. Without a guard they are a way to
read the cloud metadata service, the admin port of a database next door, or the app itself. The
authoritative check runs at connect time, on every address a name resolves to, for every hop of
a redirect chain (transport.py connects to the very address judged here). validate_target_url is
the friendlier save-time check for what can be judged without DNS.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from functools import lru_cache

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from deployments.probing.errors import BlockedAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = frozenset({"http", "https"})

# Refused even when an allow-list covers them: from inside a cloud VM these hand out the
# machine's credentials, and no health check has a reason to read them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)

# Never a real target either, and connecting to 0.0.0.0 reaches this very machine on Linux.
_NEVER = tuple(ipaddress.ip_network(n) for n in ("0.0.0.0/8", "::/128"))

# The first match names the reason. The table states the ranges instead of trusting
# ipaddress.is_global, whose answers changed between Python patch releases (and which calls
# multicast global).
_V4_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("169.254.0.0/16", "link-local"),
        ("100.64.0.0/10", "carrier-grade NAT (shared)"),
        ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
        ("192.0.2.0/24", "documentation"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("192.88.99.0/24", "reserved (6to4 relay anycast)"),
        ("198.18.0.0/15", "reserved (benchmarking)"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_V6_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("::1/128", "loopback"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private (site-local)"),
        ("ff00::/8", "multicast"),
        ("64:ff9b:1::/48", "private (local-use NAT64)"),
        ("100::/64", "reserved (discard)"),
        ("2001::/23", "reserved (IETF protocol assignments, Teredo)"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
    )
)
# Global unicast: everything outside it is unallocated or special in some way.
_V6_GLOBAL = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, NAT64 or 6to4): the host really reached."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def refusal_reason(ip: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why the guard refuses to connect to `ip`, or None when it may.

    `allowed` opts private ranges in (HINDSIGHT_PROBE_ALLOWED_NETWORKS). An IPv6 form that
    carries an IPv4 address is judged by that IPv4 address, so ::ffff:127.0.0.1 is loopback.
    """
    if ip.version == 6 and ip.scope_id:
        ip = ipaddress.IPv6Address(ip.compressed.split("%", 1)[0])
    inner = embedded_ipv4(ip)
    if ip in METADATA_ADDRESSES or inner in METADATA_ADDRESSES:
        return "a cloud metadata address"
    judged = inner if inner is not None else ip
    if any(judged in net for net in _NEVER if net.version == judged.version):
        return "unspecified"
    if any(
        candidate in net
        for net in allowed
        for candidate in (ip, judged)
        if net.version == candidate.version
    ):
        return None
    reason = _table_reason(judged)
    if reason and inner is not None:
        return f"{reason} (inside {ip})"
    return reason


def _table_reason(ip: IPAddress) -> str | None:
    if ip.version == 4:
        for net, reason in _V4_REFUSED:
            if ip in net:
                return reason
        return None if ip.is_global else "not a public address"
    for net, reason in _V6_REFUSED:
        if ip in net:
            return reason
    if ip.ipv4_mapped is None and ip not in _V6_GLOBAL:
        return "reserved (outside global unicast)"
    return None


def check_address(ip: IPAddress, allowed: Sequence[IPNetwork] = ()) -> None:
    """Raise BlockedAddress naming the reason when the guard refuses `ip`."""
    reason = refusal_reason(ip, allowed)
    if reason is not None:
        raise BlockedAddress(f"blocked by SSRF guard: {ip} is {reason}")


def allowed_networks(entries: Iterable[str] | None = None) -> tuple[IPNetwork, ...]:
    """Parse an allow-list (default: the setting) of CIDRs; a typo is a configuration error."""
    if entries is None:
        entries = settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS
    return _parse_networks(tuple(e.strip() for e in entries if e and e.strip()))


@lru_cache(maxsize=16)
def _parse_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"HINDSIGHT_PROBE_ALLOWED_NETWORKS: {entry!r} is not a network ({exc})."
            ) from exc
    return tuple(networks)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names without DNS, including legacy forms like 2130706433."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # inet_aton accepts what getaddrinfo would also turn into an address: 0x7f.1, 017700000001.
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def parse_target_url(url: str) -> httpx.URL:
    """Parse a URL the prober may fetch, or raise BlockedAddress / ValueError saying why not."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"invalid URL: {exc}") from exc
    if parsed.scheme not in SCHEMES:
        raise BlockedAddress(
            f"blocked by SSRF guard: scheme {parsed.scheme or '(none)'!r} is not http or https"
        )
    if not parsed.raw_host:
        raise ValueError("invalid URL: it has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError(f"invalid URL: port {parsed.port} is out of range")
    return parsed


def validate_target_url(url: str) -> None:
    """Save-time check of a user-entered target URL; raises ValidationError saying what is wrong.

    Refuses schemes other than http/https, URLs without a host or with credentials in them, and
    literal IP addresses the guard would refuse. Names are judged when the probe connects.
    """
    try:
        parsed = parse_target_url(url)
    except BlockedAddress as exc:
        raise ValidationError("Only http and https URLs can be probed.", code="scheme") from exc
    except ValueError as exc:
        raise ValidationError(f"Enter a valid URL ({exc}).", code="invalid") from exc
    if parsed.userinfo:
        raise ValidationError(
            "Leave user names and passwords out of the URL; probes send no credentials.",
            code="credentials",
        )
    ip = literal_address(parsed.host)
    if ip is not None:
        reason = refusal_reason(ip, allowed_networks())
        if reason is not None:
            raise ValidationError(
                f"Probes may not reach {ip}: it is {reason}. Private targets need "
                "HINDSIGHT_PROBE_ALLOWED_NETWORKS.",
                code="blocked_address",
            )
