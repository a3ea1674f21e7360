"""When a running saga must hear something, or act on its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.saga import SagaState, SagaStatus


@dataclass(frozen=True)
class DeadlinePolicy:
    step_timeout: timedelta = timedelta(seconds=30)  # first wait for a participant's answer
    max_step_timeout: timedelta = timedelta(minutes=5)  # backoff cap
    payment_grace: timedelta = timedelta(seconds=10)  # a payment made in time is still on its way

    def deadline(self, state: SagaState, now: datetime) -> datetime | None:
        if state.status.is_terminal:
            return None
        if state.status is SagaStatus.AWAITING_PAYMENT:
            assert state.payment_expires_at is not None, "a code was issued before awaiting payment"
            return state.payment_expires_at + self.payment_grace
        backoff: timedelta = self.step_timeout * 2 ** (state.attempts - 1)
        return now + min(backoff, self.max_step_timeout)
