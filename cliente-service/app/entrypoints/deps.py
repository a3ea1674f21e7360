"""What the routes are given: the service's context (built by its bootstrap) and its
units of work, each typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.adapters.crypto import PersonalDataVault
from app.adapters.peers import Peers
from app.adapters.signin_limits import SignInLimits
from app.adapters.tokens import TokenIssuer
from app.service_layer.services import PasswordHasher, ResetPolicy
from app.service_layer.unit_of_work import ClienteUnitOfWork
from mercado_shared.audit import acting_unit_of_work, maybe_acting_unit_of_work
from mercado_shared.clock import Clock
from mercado_shared.runtime import app_context, context_of, new_unit_of_work


@dataclass(frozen=True)
class ClienteContext:
    hasher: PasswordHasher
    issuer: TokenIssuer
    vault: PersonalDataVault  # blind indexes: the limits' table holds neither e-mail nor address in clear
    signin_limits: SignInLimits
    reset_policy: ResetPolicy
    peers: Peers  # the other services, asked as cliente-service
    forwarded_for_hops: int
    clock: Clock


def cliente_context(request: Request) -> ClienteContext:
    """For the helpers that are handed the request."""
    return app_context(request.app, ClienteContext)


ContextDep = Annotated[ClienteContext, Depends(context_of(ClienteContext))]
UowDep = Annotated[ClienteUnitOfWork, Depends(new_unit_of_work)]
# For routes where staff may act on money or identity: what staff do there is audited.
ActingUowDep = Annotated[ClienteUnitOfWork, Depends(acting_unit_of_work)]
MaybeActingUowDep = Annotated[ClienteUnitOfWork, Depends(maybe_acting_unit_of_work)]


async def _hasher(context: ContextDep) -> PasswordHasher:
    return context.hasher


async def _issuer(context: ContextDep) -> TokenIssuer:
    return context.issuer


async def _peers(context: ContextDep) -> Peers:
    return context.peers


PeersDep = Annotated[Peers, Depends(_peers)]
HasherDep = Annotated[PasswordHasher, Depends(_hasher)]
IssuerDep = Annotated[TokenIssuer, Depends(_issuer)]
