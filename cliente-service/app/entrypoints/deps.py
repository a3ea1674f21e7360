"""Typed dependencies of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.adapters.held_elsewhere import HeldElsewhere
from app.adapters.passwords import Argon2PasswordHasher
from app.adapters.purchases import PurchasesInProgress
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


async def _purchases(request: Request) -> PurchasesInProgress:
    purchases: PurchasesInProgress = request.app.state.purchases
    return purchases


UowDep = Annotated[ClienteUnitOfWork, Depends(new_unit_of_work)]
# For routes where staff may act on money or identity: what staff do there is audited.
ActingUowDep = Annotated[ClienteUnitOfWork, Depends(acting_unit_of_work)]
MaybeActingUowDep = Annotated[ClienteUnitOfWork, Depends(maybe_acting_unit_of_work)]
PurchasesDep = Annotated[PurchasesInProgress, Depends(_purchases)]


async def _held_elsewhere(request: Request) -> HeldElsewhere:
    held: HeldElsewhere = request.app.state.held_elsewhere
    return held


HeldElsewhereDep = Annotated[HeldElsewhere, Depends(_held_elsewhere)]
HasherDep = Annotated[Argon2PasswordHasher, Depends(_hasher)]
IssuerDep = Annotated[TokenIssuer, Depends(_issuer)]
