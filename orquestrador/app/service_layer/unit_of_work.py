from __future__ import annotations

from sqlalchemy.orm import Session

from app.adapters.repository import SagaRepository
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork


class OrquestradorUnitOfWork(SqlUnitOfWork):
    sagas: SagaRepository

    def _open(self, session: Session) -> None:
        self.sagas = SagaRepository(session)
