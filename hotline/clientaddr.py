"""The client's address: X-Forwarded-For is believed only from the proxies an admin configured.

Uvicorn's own proxy handling is off (it trusts 127.0.0.1 by default, so anyone on the host could
claim any address); ``HOTLINE_TRUSTED_PROXIES`` lists the proxies instead, empty by default.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from hotline.settings import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(scope: Mapping[str, Any]) -> str:
    """The address of whoever sent the request (an ASGI ``scope``, e.g. ``request.scope``).

    Behind trusted proxies, the rightmost X-Forwarded-For hop that is not itself a trusted proxy:
    each proxy appends the address it saw, so hops to its left are whatever the client wrote.
    """
    peer = str((scope.get("client") or ("unknown", 0))[0])
    networks = _networks(tuple(get_settings().trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
    hops = [hop.strip() for hop in ",".join(values).split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer
