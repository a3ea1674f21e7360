"""What the routes are given: the service's context (built by its bootstrap) and its
units of work, each typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from app.config import PagamentoSettings
from app.service_layer.unit_of_work import PagamentoUnitOfWork
from mercado_shared.audit import acting_unit_of_work
from mercado_shared.clock import Clock
from mercado_shared.runtime import context_of, new_unit_of_work


@dataclass(frozen=True)
class PagamentoContext:
    clock: Clock
    settings: PagamentoSettings  # the provider's webhook secret and tolerance, the BR Code's merchant

    @property
    def merchant(self) -> tuple[str, str]:
        """Who a BR Code says the buyer pays: the shop's name and city."""
        return self.settings.pix_merchant_name, self.settings.pix_merchant_city


ContextDep = Annotated[PagamentoContext, Depends(context_of(PagamentoContext))]
UowDep = Annotated[PagamentoUnitOfWork, Depends(new_unit_of_work)]
ActingUowDep = Annotated[PagamentoUnitOfWork, Depends(acting_unit_of_work)]  # staff's payments are audited
