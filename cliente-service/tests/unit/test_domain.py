from decimal import Decimal

import pytest

from app.domain.cpf import InvalidCpf, mask_cpf, normalize_cpf
from app.domain.model import Customer, HoldStatus, InsufficientFunds
from mercado_shared.contracts import PaymentType


@pytest.mark.parametrize("given", ["529.982.247-25", "52998224725"])
def test_a_cpf_is_accepted_formatted_or_as_digits(given: str) -> None:
    assert normalize_cpf(given) == "52998224725"


@pytest.mark.parametrize(
    "given", ["529.982.247-24", "52998224735", "111.111.111-11", "5299822472", "529.982.247-2X", "529-982-247.25"]
)
def test_a_cpf_with_wrong_check_digits_or_shape_is_refused(given: str) -> None:
    with pytest.raises(InvalidCpf):
        normalize_cpf(given)


def test_the_mask_shows_only_the_middle_digits() -> None:
    assert mask_cpf("52998224725") == "***.982.247-**"


def customer(balance: str = "100.00", limit: str = "50.00") -> Customer:
    return Customer(
        "c1",
        "Ana",
        "ana@example.com",
        "+5511912345678",
        "52998224725",
        "hash",
        account_balance=Decimal(balance),
        credit_limit=Decimal(limit),
    )


def test_a_cash_hold_comes_out_of_the_balance_and_a_release_puts_it_back() -> None:
    c = customer()
    hold = c.hold("t1", PaymentType.CASH, Decimal("60.00"))
    assert c.account_balance == Decimal("40.00")
    assert c.release(hold) == Decimal("60.00")
    assert (c.account_balance, hold.status) == (Decimal("100.00"), HoldStatus.RELEASED)
    assert c.release(hold) == 0 and c.account_balance == Decimal("100.00")  # idempotent


def test_a_credit_hold_uses_the_credit_line() -> None:
    c = customer()
    c.hold("t1", PaymentType.CREDIT, Decimal("50.00"))
    assert (c.used_credit, c.available_credit, c.account_balance) == (Decimal("50.00"), Decimal(0), Decimal("100.00"))


@pytest.mark.parametrize("source, amount", [(PaymentType.CASH, "100.01"), (PaymentType.CREDIT, "50.01")])
def test_no_hold_beyond_what_is_available(source: PaymentType, amount: str) -> None:
    c = customer()
    with pytest.raises(InsufficientFunds):
        c.hold("t1", source, Decimal(amount))
    assert (c.account_balance, c.used_credit) == (Decimal("100.00"), Decimal("0.00"))


def test_a_capture_keeps_the_funds_spent_and_undoing_it_refunds() -> None:
    c = customer()
    hold = c.hold("t1", PaymentType.CASH, Decimal("30.00"))
    assert c.capture(hold) and c.capture(hold)
    assert (c.account_balance, hold.status) == (Decimal("70.00"), HoldStatus.CAPTURED)
    assert c.release(hold) == Decimal("30.00")
    assert (c.account_balance, hold.status) == (Decimal("100.00"), HoldStatus.REFUNDED)


def test_a_released_hold_cannot_be_captured() -> None:
    c = customer()
    hold = c.hold("t1", PaymentType.CASH, Decimal("30.00"))
    c.release(hold)
    assert not c.capture(hold) and hold.status is HoldStatus.RELEASED
