"""The network guard: no fetch reaches a private network the operator did not name.

A monitor follows redirects, index links and feed items from pages it does not control; left
alone it can be made to read internal services (a redirect to the cloud metadata address, a
link to http://10.0.0.5/admin). The rule:

- every address is of one kind: public, loopback, private (RFC 1918, fc00::/7, 100.64/10),
  link-local (169.254/16, fe80::/10), metadata (the cloud instance metadata services) or
  reserved (anything else not globally routable: 0.0.0.0, multicast, documentation ranges);
- a fetch may reach public addresses, and the kinds of network the source's own configured
  URL is on (a source on an intranet may follow intranet links), and `[defaults]
  allow_networks`;
- metadata addresses are refused always, unless `allow_networks` lists that very address;
- the check is made on the address actually connected to (`GuardedBackend`, the network
  backend of the httpx transport), after our own DNS resolution, so a name that resolves to
  a public address once and a private one later (DNS rebinding) is still refused. The browser
  checks each request in a route handler (see browser.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpcore

from monitor.fetch.base import FetchError
from monitor.fetch.streams import AsyncioBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


class NetworkKind(StrEnum):
    """What kind of network an address is on."""

    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    METADATA = "metadata"
    RESERVED = "reserved"


# Instance metadata services: AWS/GCP/Azure/OpenStack (and its IPv6 form on AWS), AWS ECS task
# metadata, Alibaba Cloud. They hand out credentials to anyone who asks from the machine.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_LINK_LOCAL = tuple(ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10"))
_DESCRIBED = {
    NetworkKind.LOOPBACK: "a loopback address",
    NetworkKind.PRIVATE: "a private-network address",
    NetworkKind.LINK_LOCAL: "a link-local address",
    NetworkKind.METADATA: "a cloud metadata address",
    NetworkKind.RESERVED: "a non-public address",
}


def classify(address: IPAddress) -> NetworkKind:
    """The kind of network an address is on."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address in METADATA_ADDRESSES:
        return NetworkKind.METADATA
    if address.is_loopback:
        return NetworkKind.LOOPBACK
    if any(address in net for net in _LINK_LOCAL if net.version == address.version):
        return NetworkKind.LINK_LOCAL
    if any(address in net for net in _PRIVATE if net.version == address.version):
        return NetworkKind.PRIVATE
    if address.is_global and not address.is_multicast:
        return NetworkKind.PUBLIC
    return NetworkKind.RESERVED


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from "10.0.0.0/8" or "192.168.1.7" strings; raises ValueError."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


class NetworkRefused(FetchError):
    """The address a fetch would connect to is on a network it may not reach."""


@dataclass(frozen=True)
class NetworkPolicy:
    """Which addresses one fetch may connect to."""

    kinds: frozenset[NetworkKind] = frozenset({NetworkKind.PUBLIC})
    allow_networks: tuple[IPNetwork, ...] = ()

    def refusal(self, address: IPAddress) -> str | None:
        """Why the address may not be reached, or None when it may."""
        kind = classify(address)
        if kind is NetworkKind.METADATA:
            # Only an explicit listing of this very address lets it through.
            if any(net.num_addresses == 1 and address in net for net in self.allow_networks):
                return None
        elif kind in self.kinds or any(
            address in net for net in self.allow_networks if net.version == address.version
        ):
            return None
        return f"{address} is {_DESCRIBED[kind]}, which this source may not reach; " + (
            f'list "{address}" in [defaults] allow_networks if it really is meant to be fetched'
            if kind is NetworkKind.METADATA
            else "list its network in [defaults] allow_networks to allow it"
        )


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses a host name resolves to (an IP literal is itself)."""
    literal = ip_literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    found: list[IPAddress] = []
    for *_ignored, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def ip_literal(host: str) -> IPAddress | None:
    """The address when the host is an IP literal ("127.0.0.1", "[::1]"), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


class NetworkGuard:
    """Works out each source's policy and checks addresses against it.

    The kinds of network a source's own URL is on are resolved once and remembered for a
    few minutes (a long-running daemon sees DNS changes).
    """

    CACHE_SECONDS = 300.0

    def __init__(
        self, allow_networks: Sequence[str] = (), resolver: Resolver | None = None
    ) -> None:
        self.allow_networks = parse_networks(allow_networks)
        self.resolver: Resolver = resolver or system_resolver
        self._origins: dict[str, tuple[float, frozenset[NetworkKind]]] = {}

    async def policy_for(self, origin_host: str, port: int) -> NetworkPolicy:
        """The policy of a fetch made for a source whose configured URL is on this host."""
        now = time.monotonic()
        cached = self._origins.get(origin_host)
        if cached is not None and now - cached[0] < self.CACHE_SECONDS:
            kinds = cached[1]
        else:
            try:
                addresses = await self.resolver(origin_host, port)
            except (httpcore.ConnectError, OSError):
                addresses = []  # unresolvable: the fetch fails on its own, public only
            # The metadata kind is never granted by a source's URL, only by listing it.
            kinds = frozenset(classify(a) for a in addresses) - {NetworkKind.METADATA}
            self._origins[origin_host] = (now, kinds)
            if len(self._origins) > 4096:
                self._origins.clear()
        return NetworkPolicy(kinds | {NetworkKind.PUBLIC}, self.allow_networks)

    async def check_host(self, host: str, port: int, policy: NetworkPolicy) -> list[IPAddress]:
        """The host's addresses when all may be reached; raises NetworkRefused otherwise."""
        addresses = await self.resolver(host, port)
        for address in addresses:
            reason = policy.refusal(address)
            if reason is not None:
                shown = host if ip_literal(host) is not None else f"{host} ({address})"
                raise NetworkRefused(f"refused to connect to {shown}: {reason}")
        return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves names itself, checks every address against
    the policy, and connects to the checked address: nothing else is ever connected to."""

    def __init__(
        self,
        guard: NetworkGuard,
        policy: NetworkPolicy,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.guard = guard
        self.policy = policy
        self.inner = inner or AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.guard.check_host(host, port, self.policy)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next address, as a resolver-driven connect would
        raise failure or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise NetworkRefused("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
