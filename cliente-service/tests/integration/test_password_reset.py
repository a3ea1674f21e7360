"""Password resets: a link by e-mail (over real SMTP), good once and for a while; the
anonymous request answers the same for any e-mail; staff send one, never set a password."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.adapters.mail import MailSender, SmtpMailer
from app.adapters.orm import outgoing_mail, password_resets
from app.bootstrap import bootstrap
from app.config import ClienteSettings
from mercado_devtools.mailcatcher import MailCatcher
from mercado_devtools.processes import free_port
from mercado_devtools.testing.helpers import TestClock
from mercado_shared.runtime import app_runtime
from tests.conftest import Client

OLD, NEW = "a-long-passphrase", "a-new-long-passphrase"
ANSWER = {"message": "if this e-mail is a customer's, a reset link is on its way"}


def code_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"]


def link_token(mail: MailCatcher, email: str, nth: int = 1) -> str:
    message = mail.wait_for(email, nth)[nth - 1]
    found = re.search(r"token=([A-Za-z0-9_-]+)", message.get_content())
    assert found, message.get_content()
    return found.group(1)


def resets_of(client: Client, customer_id: str) -> int:
    uow = app_runtime(client.http.app).uow_factory()
    with uow:
        query = sa.select(sa.func.count()).where(password_resets.c.customer_id == customer_id)
        return int(uow.session.scalar(query) or 0)


def test_a_customer_who_forgot_the_password_sets_a_new_one_from_the_emailed_link(
    client: Client, mail: MailCatcher
) -> None:
    customer, old_session = client.register()
    asked = client.http.post("/auth/password-resets", json={"email": customer["email"].upper()})
    assert (asked.status_code, asked.json()) == (202, ANSWER)
    message = mail.wait_for(customer["email"])[0]
    assert message["Subject"] == "Mercado Veículo: redefinição de senha"
    token = link_token(mail, customer["email"])
    assert token not in str(app_runtime(client.http.app).engine.url)
    done = client.http.post("/auth/password-resets/confirm", json={"token": token, "password": NEW})
    assert done.status_code == 204, done.text
    client.login(customer["email"], NEW)
    assert client.http.post("/auth/token", data={"username": customer["email"], "password": OLD}).status_code == 401
    assert client.http.get("/customers/me", headers=old_session).status_code == 401  # every session ended
    again = client.http.post("/auth/password-resets/confirm", json={"token": token, "password": "yet-another-one"})
    assert code_of(again) == (400, "INVALID_RESET_TOKEN")


def test_an_unknown_email_hears_the_same_and_nothing_is_sent(client: Client) -> None:
    uow = app_runtime(client.http.app).uow_factory()
    with uow:
        before = uow.session.scalar(sa.select(sa.func.count()).select_from(password_resets))
    asked = client.http.post("/auth/password-resets", json={"email": "nobody-at-all@example.com"})
    assert (asked.status_code, asked.json()) == (202, ANSWER)
    with uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(password_resets)) == before
    forged = client.http.post("/auth/password-resets/confirm", json={"token": "A" * 43, "password": NEW})
    assert code_of(forged) == (400, "INVALID_RESET_TOKEN")


def test_a_link_expires_and_one_used_spends_the_others(settings: ClienteSettings, mail: MailCatcher) -> None:
    clock = TestClock()
    with TestClient(bootstrap(settings, clock=clock)) as http:
        client = Client(http)
        customer, _ = client.register()
        for _ in range(2):
            assert http.post("/auth/password-resets", json={"email": customer["email"]}).status_code == 202
        first, second = link_token(mail, customer["email"], 1), link_token(mail, customer["email"], 2)
        assert http.post("/auth/password-resets/confirm", json={"token": second, "password": NEW}).status_code == 204
        spent = http.post("/auth/password-resets/confirm", json={"token": first, "password": "other-passphrase"})
        assert code_of(spent) == (400, "INVALID_RESET_TOKEN")
        assert http.post("/auth/password-resets", json={"email": customer["email"]}).status_code == 202
        late = link_token(mail, customer["email"], 3)
        clock.advance(seconds=settings.password_reset_ttl_seconds)
        expired = http.post("/auth/password-resets/confirm", json={"token": late, "password": "other-passphrase"})
        assert code_of(expired) == (400, "INVALID_RESET_TOKEN")
        client.login(customer["email"], NEW)


def test_nobody_can_fill_a_customers_inbox(client: Client, settings: ClienteSettings) -> None:
    customer, _ = client.register()
    for _ in range(settings.password_resets_per_account + 2):
        answer = client.http.post("/auth/password-resets", json={"email": customer["email"]})
        assert (answer.status_code, answer.json()) == (202, ANSWER)  # the same, sent or not
    assert resets_of(client, customer["id"]) == settings.password_resets_per_account


def test_staff_send_a_reset_and_never_set_a_password(client: Client, mail: MailCatcher) -> None:
    customer, me = client.register()
    path = f"/customers/{customer['id']}/password-reset"
    assert client.http.post(path, headers=me).status_code == 403
    sent = client.http.post(path, headers=client.staff())
    assert sent.status_code == 202
    message = mail.wait_for(customer["email"])[0]
    assert "equipe do Mercado Veículo" in message.get_content()
    unknown = client.http.post("/customers/00000000-0000-4000-8000-000000000000/password-reset", headers=client.staff())
    assert code_of(unknown) == (404, "CUSTOMER_NOT_FOUND")


def queue_mail(
    engine: sa.Engine, recipient: str, subject: str, not_after: datetime, due: datetime, attempts: int = 0
) -> None:
    """Mail waiting for the relay, as the service queues it."""
    with engine.begin() as connection:
        connection.execute(
            sa.insert(outgoing_mail).values(
                id=str(uuid.uuid4()),
                recipient=recipient,
                subject=subject,
                body=f"{subject}: the body",
                not_after=not_after,
                next_attempt_at=due,
                attempts=attempts,
            )
        )


def test_mail_waits_for_a_relay_that_is_down_and_goes_when_it_is_back(client: Client, mail: MailCatcher) -> None:
    engine = app_runtime(client.http.app).engine
    # A day ahead: the app's own sender, on the real clock, never finds this mail due.
    clock = TestClock(datetime.now(UTC) + timedelta(days=1))
    customer, _ = client.register()
    queue_mail(engine, customer["email"], "relay test", not_after=clock.now + timedelta(hours=1), due=clock.now)
    down = MailSender(engine, SmtpMailer("127.0.0.1", free_port(), "test@example.com", timeout=2), clock)
    assert down() == 0
    mine = sa.select(outgoing_mail).where(outgoing_mail.c.subject == "relay test")
    with engine.connect() as connection:
        row = connection.execute(mine).one()
    assert row.attempts == 1 and row.next_attempt_at > clock.now and row.claimed_until is None
    up = MailSender(engine, SmtpMailer(mail.host, mail.port, "test@example.com"), clock)
    assert up() == 0  # not before its next attempt
    clock.advance(seconds=2)
    assert up() == 1
    assert [m["Subject"] for m in mail.messages(customer["email"])] == ["relay test"]
    with engine.connect() as connection:
        assert connection.execute(mine).all() == []


def test_mail_past_its_deadline_is_dropped_unsent(client: Client, mail: MailCatcher) -> None:
    engine = app_runtime(client.http.app).engine
    clock = TestClock(datetime.now(UTC) + timedelta(days=1))
    customer, _ = client.register()
    queue_mail(engine, customer["email"], "too late", not_after=clock.now, due=clock.now, attempts=3)
    assert MailSender(engine, SmtpMailer(mail.host, mail.port, "test@example.com"), clock)() == 0
    with engine.connect() as connection:
        assert connection.execute(sa.select(outgoing_mail).where(outgoing_mail.c.subject == "too late")).all() == []
    assert mail.messages(customer["email"]) == []


def test_a_receipt_undelivered_by_its_deadline_is_kept_as_a_dead_letter_and_never_tried_again(
    client: Client, mail: MailCatcher
) -> None:
    engine = app_runtime(client.http.app).engine
    clock = TestClock(datetime.now(UTC) + timedelta(days=1))
    customer, _ = client.register()
    queue_mail(engine, customer["email"], "receipt", not_after=clock.now + timedelta(seconds=30), due=clock.now)
    with engine.begin() as connection:
        connection.execute(
            sa.update(outgoing_mail).where(outgoing_mail.c.subject == "receipt").values(dead_letter=True)
        )
    down = MailSender(engine, SmtpMailer("127.0.0.1", free_port(), "test@example.com", timeout=2), clock)
    assert down() == 0
    clock.advance(seconds=31)  # the relay stayed down past the bound
    up = MailSender(engine, SmtpMailer(mail.host, mail.port, "test@example.com"), clock)
    assert up() == 0
    mine = sa.select(outgoing_mail).where(outgoing_mail.c.subject == "receipt")
    with engine.connect() as connection:
        row = connection.execute(mine).one()
    assert row.dead_at == clock.now and row.attempts == 2
    clock.advance(days=1)
    assert up() == 0  # a dead letter is not tried again
    assert mail.messages(customer["email"]) == []
    with engine.connect() as connection:
        assert connection.execute(mine).one().attempts == 2


def test_a_reset_is_purged_a_day_after_it_expired_a_live_one_is_not(client: Client) -> None:
    expired, live = client.register()[0], client.register()[0]
    for customer in (expired, live):
        assert client.http.post("/auth/password-resets", json={"email": customer["email"]}).status_code == 202
    runtime = app_runtime(client.http.app)
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.update(password_resets)
            .where(password_resets.c.customer_id == expired["id"])
            .values(expires_at=sa.func.now() - sa.text("interval '25 hours'"))
        )
    deleted = runtime.retention()  # what the service's retention loop runs
    assert deleted["password_resets"] == 1 and "rate_limits" in deleted
    assert (resets_of(client, expired["id"]), resets_of(client, live["id"])) == (0, 1)
