"""The staff console in a real browser (Debian's Chromium, headless, through Playwright),
on the fault stack, through the local gateway that routes as the load balancer does:
a named staff member signs in with a password and an authenticator's code, finds a purchase
made stuck on purpose, resends its step and watches it end without reloading; finds a dead
letter and redrives it once the fault is fixed; a customer's token gets nothing.

Set CONSOLE_SCREENSHOTS to a folder to keep a screenshot of each page (the README's)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyotp
import sqlalchemy as sa
from playwright.sync_api import Browser, Locator, Page, expect

from mercado_devtools.pubsub import provision
from mercado_devtools.stack import LocalStack
from mercado_devtools.testing.helpers import FAST_DEAD_LETTERS
from mercado_shared.contracts import Envelope, PaymentType, ReleaseCredit
from mercado_shared.messaging.publisher import OutgoingMessage, PubSubPublisher
from mercado_shared.platform_auth import SharedSecret
from tests.e2e.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60_000  # ms: the fault stack retries within seconds, CI is slower
expect.set_options(timeout=TIMEOUT)


@contextmanager
def fault(stack: LocalStack, service: str, table: str) -> Iterator[None]:
    """Every write to ``table`` fails in the database until the block ends (the fix)."""
    engine = sa.create_engine(stack.database_urls[service])
    with engine.begin() as connection:
        connection.execute(sa.text(f"ALTER TABLE {table} ADD CONSTRAINT console_fault CHECK (false) NOT VALID"))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS console_fault"))
        engine.dispose()


def snapshot(page: Page, name: str) -> None:
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def look_again_until(page: Page, found: Locator, refresh: Callable[[], None], seconds: float = 60) -> None:
    """Pages that do not follow by themselves (a search, a list): refresh until ``found``
    shows, or the deadline passes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        drawn = page.get_attribute("main", "data-shown") or "0"
        refresh()
        expect(page.locator("main")).not_to_have_attribute("data-shown", drawn)  # the fresh page is drawn
        if found.count():
            return
        page.wait_for_timeout(500)  # between two looks, not a wait for something to happen


def sign_in(page: Page, console: str, email: str, password: str) -> None:
    page.goto(console)
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_staff_find_a_stuck_purchase_resend_it_watch_it_end_and_redrive_a_dead_letter(
    api: Api, fault_stack: LocalStack, browser: Browser
) -> None:
    console = fault_stack.gateway.url + "/console/"
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # A customer gets nothing: the console will not keep the token, and the API refuses it.
    customer, me = api.new_customer(balance=60_000, email=f"{uuid.uuid4().hex}@example.com")
    sign_in(page, console, customer["email"], "a-long-passphrase")
    expect(page.locator("#error")).to_contain_text("for staff")
    assert page.evaluate("sessionStorage.length") == 0
    refused = page.evaluate(
        "async (token) => (await fetch('/operations/overview', {headers: {Authorization: token}})).status",
        me["Authorization"],
    )
    assert refused == 403

    # A named staff account, as an operator creates one: its password and its authenticator.
    email = f"ops-{uuid.uuid4().hex[:8]}@mercadoveiculo.local"
    created = subprocess.run(
        [sys.executable, "-m", "app.staff", "create", email],
        cwd=ROOT / "cliente-service",
        env={
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": fault_stack.database_urls["cliente-service"],
            "DATA_KEK_FILE": str(fault_stack.config.run_dir / "data-kek"),
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    password = re.search(r"^password: (\S+)$", created, re.M)
    enrolment = re.search(r"(otpauth://\S+)", created)
    assert password and enrolment
    sign_in(page, console, email, password.group(1))
    expect(page.locator("#error")).to_contain_text("TOTP_REQUIRED")  # the second factor is asked for
    authenticator = pyotp.parse_uri(enrolment.group(1))
    assert isinstance(authenticator, pyotp.TOTP)
    page.fill("input[name=totp]", authenticator.now())
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Overview")
    snapshot(page, "overview")

    # Stuck on purpose: the buyer cancels while pagamento cannot close the code, so the
    # refund fails and the saga keeps asking for it.
    vehicle = api.new_vehicle(45_900)
    tx = api.purchase(vehicle["id"], me)["transaction_id"]
    api.saga_reaches(tx, me, "AWAITING_PAYMENT")
    with fault(fault_stack, "pagamento-service", "payment_codes"):
        assert api.client.post(api.url("orquestrador", f"/purchase/{tx}/cancel"), headers=me).status_code == 202
        page.goto(console + "#/purchases")
        page.check("input[name=stuck]")
        page.fill("input[name=customer_id]", customer["id"])
        row = page.locator(f"tr[data-purchase='{tx}']")  # stuck once the saga has asked again
        look_again_until(page, row, lambda: page.click("form.filters button[type=submit]"))
        expect(row).to_contain_text("stuck")
        assert "stuck=true" in page.url  # the filters are in the URL
        snapshot(page, "purchases")
        row.locator("a").click()
        expect(page.locator("#purchase-status")).to_have_text("COMPENSATING")
        refund = page.locator("g[data-step=PAYMENT_CODE_GENERATION]")
        expect(refund).to_have_attribute("data-compensation", "awaited")
        expect(page.locator("g[data-step=CREDIT_RESERVATION]")).to_have_attribute("data-compensation", "done")
        snapshot(page, "purchase")
        # Staff resend the refund with why; pagamento is fixed, and the page follows the
        # purchase to its end by itself (the long poll), no reload.
        page.fill("form.action input[name=reason]", "pagamento's payment_codes fixed")
        page.click("button[data-action=resend]")
        resent = page.locator("table").filter(has_text="purchase.step_resent")
        expect(resent).to_contain_text("pagamento's payment_codes fixed")
        expect(page.locator("#purchase-status")).to_have_text("COMPENSATING")
    expect(page.locator("#purchase-status")).to_have_text("CANCELLED")
    expect(refund).to_have_attribute("data-compensation", "done")
    end = api.saga(tx, me)
    assert end["status"] == "CANCELLED" and "ResendRequested" in [h["event"] for h in end["history"]]

    # A dead letter: a release of credit cliente-service failed every delivery of.
    release = Envelope.wrap(
        ReleaseCredit(transaction_id=str(uuid.uuid4()), customer_id=customer["id"], payment_type=PaymentType.CASH)
    )
    project = f"console-{uuid.uuid4().hex[:8]}"  # fast dead-lettering: the fewest attempts Pub/Sub allows
    provision(
        fault_stack.emulator_host,
        project,
        {"cliente-service": fault_stack.url("cliente-service")},
        policy=FAST_DEAD_LETTERS,
    )
    with fault(fault_stack, "cliente-service", "holds"):
        publisher = PubSubPublisher(project, signer=SharedSecret(fault_stack.platform_secret).sign)
        message = OutgoingMessage(release.type, release.model_dump_json().encode(), release.attributes())
        assert publisher.publish([message]) == [True]
        publisher.close()
        letter = page.locator(f"tr[data-row='{release.message_id}']")
        page.goto(console + "#/dead-letters?service=cliente-service")
        look_again_until(page, letter, lambda: page.click("button[data-action=refresh]"))  # attempts a second apart
        expect(letter).to_contain_text("commands.credit.release")
        snapshot(page, "dead-letters")
    page.locator(f"input[data-dead-letter='{release.message_id}']").check()
    page.fill("form.action input[name=reason]", "holds fixed")
    page.click("button[data-action=redrive]")
    expect(page.locator("#dead-letter-result")).to_contain_text("redrive: 1 done")
    expect(letter).to_have_count(0)
    page.goto(console + "#/dead-letters?service=cliente-service&state=REDRIVEN")
    expect(page.locator(f"tr[data-row='{release.message_id}']")).to_contain_text("holds fixed")
    assert errors == []
