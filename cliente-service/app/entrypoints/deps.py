"""Typed dependencies of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.adapters.passwords import Argon2PasswordHasher
from app.adapters.peers import Peers
from app.adapters.tokens import TokenIssuer
from app.service_layer.unit_of_work import ClienteUnitOfWork
from mercado_shared.audit import acting_unit_of_work, maybe_acting_unit_of_work
from mercado_shared.web import new_unit_of_work


async def _hasher(request: Request) -> Argon2PasswordHasher:
    hasher: Argon2PasswordHasher = request.app.state.password_hasher
    return hasher


async def _issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.token_issuer
    return issuer


async def _peers(request: Request) -> Peers:
    peers: Peers = request.app.state.peers
    return peers


UowDep = Annotated[ClienteUnitOfWork, Depends(new_unit_of_work)]
# For routes where staff may act on money or identity: what staff do there is audited.
ActingUowDep = Annotated[ClienteUnitOfWork, Depends(acting_unit_of_work)]
MaybeActingUowDep = Annotated[ClienteUnitOfWork, Depends(maybe_acting_unit_of_work)]
PeersDep = Annotated[Peers, Depends(_peers)]  # the other services, asked as cliente-service
HasherDep = Annotated[Argon2PasswordHasher, Depends(_hasher)]
IssuerDep = Annotated[TokenIssuer, Depends(_issuer)]
