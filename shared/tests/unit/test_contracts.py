import base64
import json
from decimal import Decimal

import pytest

from mercado_shared.contracts import (
    REGISTRY,
    Envelope,
    PaymentCodeIssued,
    PaymentProcessed,
    PaymentType,
    PurchaseEnded,
    ReserveCredit,
    SessionsRevoked,
)
from mercado_shared.messaging.push import Rejected, decode
from mercado_shared.topology import load_topology


def test_every_message_type_has_a_topic_and_every_topic_a_message_type() -> None:
    assert set(REGISTRY) == set(load_topology().topics)


# What the buyer hears of: cliente-service, which holds its address, mails it.
NOTICES = {PaymentCodeIssued.TYPE, PurchaseEnded.TYPE}


def test_commands_go_to_one_participant_and_events_to_the_orchestrator() -> None:
    topology = load_topology()
    everyone_else = ("veiculo-service", "pagamento-service", "orquestrador")
    for topic, spec in topology.topics.items():
        if topic == SessionsRevoked.TYPE:  # every service but cliente checks tokens against it
            assert (spec.producer, spec.consumers) == ("cliente-service", everyone_else)
        elif topic in NOTICES:
            assert spec.consumers == ("cliente-service",), topic
        elif topic == PaymentProcessed.TYPE:  # the saga goes on; a paid code needs no reminder
            assert spec.consumers == ("orquestrador", "cliente-service"), topic
        elif topic.startswith("events."):
            assert spec.consumers == ("orquestrador",), topic
        else:
            assert len(spec.consumers) == 1 and spec.consumers[0] != "orquestrador", topic


def test_subscription_and_dead_letter_names_follow_the_patterns_terraform_uses() -> None:
    topology = load_topology()
    sub = next(s for s in topology.subscriptions("cliente-service") if s.topic == "commands.credit.reserve")
    assert sub.name == "cliente-service.commands.credit.reserve"
    assert sub.dead_letter_topic == "dead-letter.cliente-service"
    assert topology.topics_consumed_by("cliente-service") == {
        "commands.credit.reserve",
        "commands.credit.release",
        "commands.credit.capture",
        "events.payment.processed",
        *NOTICES,
    }


def reserve() -> ReserveCredit:
    return ReserveCredit(transaction_id="t1", customer_id="c1", amount=Decimal("10.50"), payment_type=PaymentType.CASH)


def test_an_envelope_round_trips_exactly() -> None:
    envelope = Envelope.wrap(reserve(), causation_id="m0")
    again = Envelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope and again.open() == reserve()
    assert envelope.correlation_id == "t1" and envelope.attributes()["type"] == "commands.credit.reserve"
    assert json.loads(envelope.model_dump_json())["payload"]["amount"] == "10.50"  # exact, never a float


def push_body(data: bytes, **attributes: str) -> bytes:
    return json.dumps(
        {
            "message": {"data": base64.b64encode(data).decode(), "attributes": attributes, "messageId": "1"},
            "subscription": "projects/p/subscriptions/s",
        }
    ).encode()


def test_a_push_request_decodes_to_its_envelope() -> None:
    envelope = Envelope.wrap(reserve())
    _, decoded = decode(push_body(envelope.model_dump_json().encode()))
    assert decoded == envelope


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"not json", "not_a_push_request"),
        (push_body(b"not an envelope"), "undecodable"),
        (
            push_body(
                Envelope.wrap(reserve()).model_dump_json().replace("commands.credit.reserve", "commands.nope").encode()
            ),
            "unknown_type",
        ),
        (push_body(Envelope.wrap(reserve()).model_dump_json().replace('"10.50"', '"-1"').encode()), "invalid_payload"),
    ],
)
def test_what_can_never_be_handled_is_rejected_with_its_reason(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as rejected:
        decode(body)
    assert rejected.value.reason == reason
