"""What the routes are given: the service's context (built by its bootstrap) and its
units of work, each typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from app.adapters.photo_store import PhotoStore
from app.service_layer.unit_of_work import VeiculoUnitOfWork
from mercado_shared.audit import acting_unit_of_work
from mercado_shared.clock import Clock
from mercado_shared.runtime import context_of, new_unit_of_work


@dataclass(frozen=True)
class VeiculoContext:
    clock: Clock
    photos: PhotoStore


ContextDep = Annotated[VeiculoContext, Depends(context_of(VeiculoContext))]
UowDep = Annotated[VeiculoUnitOfWork, Depends(new_unit_of_work)]
ActingUowDep = Annotated[VeiculoUnitOfWork, Depends(acting_unit_of_work)]  # staff's changes are audited
