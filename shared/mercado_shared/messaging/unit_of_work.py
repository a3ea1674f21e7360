"""The unit of work: one database transaction, its outbox and its inbox.

Each service subclasses it to add its repositories (``_open``). ``commit`` commits the
transaction and then publishes the outbox rows it wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from sqlalchemy.orm import Session

from mercado_shared import audit, sessions
from mercado_shared.contracts import Envelope, Message, SessionsRevoked
from mercado_shared.messaging.outbox import Outbox, OutboxRelay, OutboxRow
from mercado_shared.messaging.schema import MessagingTables


class SqlUnitOfWork:
    session: Session

    def __init__(
        self,
        session_factory: Callable[[], Session],
        tables: MessagingTables,
        relay: OutboxRelay | None,
    ) -> None:
        self._session_factory = session_factory
        self._tables = tables
        self._relay = relay
        self._written: list[OutboxRow] = []
        self._audited: list[audit.Entry] = []
        # Who acts through this unit of work (set by the route): staff actions are audited.
        self.actor: audit.Actor | None = None

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self._outbox = Outbox(self.session, self._tables)
        self._written = []
        self._audited = []
        self._open(self.session)
        return self

    def _open(self, session: Session) -> None:
        """Subclasses build their repositories here."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() ends any open transaction (rolling it back) and keeps what was loaded
        # readable, detached; rollback() would expire it.
        self.session.close()

    def emit(self, message: Message, *, causation_id: str | None = None) -> Envelope:
        """Write ``message`` to the outbox in this transaction; it is sent after commit."""
        envelope = Envelope.wrap(message, causation_id=causation_id)
        self._written.append(self._outbox.add(envelope))
        return envelope

    def audit(self, action: str, subject: str, **details: Any) -> None:
        """Record, in this transaction, what staff did (mercado_shared.audit); nothing for others."""
        entry = audit.write(self.session, self._tables.audit, self.actor, action, subject, **details)
        if entry is not None:
            self._audited.append(entry)

    def end_sessions(self, subject: str, version: int) -> None:
        """From this transaction's commit, tokens of ``subject`` older than ``version`` are
        refused here, and by every other service once the event reaches it."""
        sessions.end_sessions_before(self.session, self._tables.revocations, subject, version)
        self.emit(SessionsRevoked(transaction_id=str(uuid.uuid4()), subject=subject, version=version))

    def claim(self, envelope: Envelope) -> bool:
        """Record the message id in the inbox; False if it was already handled.

        A concurrent delivery of the same message blocks on the primary key until this
        transaction ends, then finds the row: the effects happen once.
        """
        claimed = self.session.execute(
            self._tables.claim_message,
            {"message_id": envelope.message_id, "type": envelope.type, "correlation_id": envelope.correlation_id},
        ).first()
        return claimed is not None

    def commit(self) -> None:
        self.session.commit()
        audited, self._audited = self._audited, []
        audit.announce(audited)
        written, self._written = self._written, []
        if self._relay is not None and written:
            self._relay.publish_committed(written)

    def rollback(self) -> None:
        self.session.rollback()
        self._written = []
        self._audited = []
