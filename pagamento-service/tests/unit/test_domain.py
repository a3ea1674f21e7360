from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.domain.codes import new_payment_code
from app.domain.model import CodeNotPayable, CodeStatus, PaymentCode, PaymentMethod, PaymentStatus

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def code(status: CodeStatus = CodeStatus.PENDING) -> PaymentCode:
    return PaymentCode("MVX", "t1", "c1", Decimal("10.00"), status, NOW + timedelta(minutes=30))


def test_codes_are_long_random_and_distinct() -> None:
    codes = {new_payment_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == 26 and c.isalnum() for c in codes)


def test_a_pending_code_is_paid_once() -> None:
    c = code()
    payment = c.pay("p1", PaymentMethod.PIX, NOW)
    assert (c.status, payment.status, payment.amount) == (CodeStatus.PAID, PaymentStatus.COMPLETED, Decimal("10.00"))
    with pytest.raises(CodeNotPayable) as refused:
        c.pay("p2", PaymentMethod.PIX, NOW)
    assert refused.value.status is CodeStatus.PAID


def test_a_code_expires_at_its_deadline_not_before() -> None:
    c = code()
    assert c.current_status(c.expires_at - timedelta(microseconds=1)) is CodeStatus.PENDING
    with pytest.raises(CodeNotPayable) as refused:
        c.pay("p1", PaymentMethod.PIX, c.expires_at)
    assert refused.value.status is CodeStatus.EXPIRED and c.status is CodeStatus.EXPIRED


def test_a_closed_code_cannot_be_paid_and_a_refund_is_idempotent() -> None:
    c = code()
    c.close(NOW)
    with pytest.raises(CodeNotPayable):
        c.pay("p1", PaymentMethod.PIX, NOW)
    paid = code()
    payment = paid.pay("p1", PaymentMethod.PIX, NOW)
    assert payment.refund(NOW) == Decimal("10.00") and payment.refund(NOW) == 0
    assert payment.status is PaymentStatus.REFUNDED and payment.refunded_at == NOW


def test_a_code_closed_after_its_deadline_reads_expired() -> None:
    late = code()
    late.close(late.expires_at)
    assert late.status is CodeStatus.EXPIRED
    with pytest.raises(CodeNotPayable) as refused:
        late.pay("p1", PaymentMethod.PIX, late.expires_at)
    assert refused.value.status is CodeStatus.EXPIRED
