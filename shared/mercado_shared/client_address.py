"""The address a request came from, for per-address limits.

Locally the socket's peer is the client. Behind Google's external Application Load
Balancer the peer is Google's front end, and the load balancer appends two entries to
X-Forwarded-For, ``<client address>,<load balancer address>``, after whatever the client
itself sent (https://cloud.google.com/load-balancing/docs/https#x-forwarded-for_header).
So with ``hops`` = 2 the client is the second entry from the end; anything before it is
the client's own claim and is ignored, so an attacker cannot pick the address it is
limited under.
"""

from __future__ import annotations

from fastapi import Request


def client_address(request: Request, hops: int) -> str:
    if hops > 0:
        entries = [e.strip() for e in request.headers.get("x-forwarded-for", "").split(",") if e.strip()]
        if len(entries) >= hops:
            return entries[-hops]
    return request.client.host if request.client else "unknown"
