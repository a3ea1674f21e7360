"""Whether an e-mail names an account cannot be read from a sign-in: every attempt does the
same work (one Argon2 verification, no hash), whoever the e-mail names. The time this
takes is measured by `make bench` (logins), not here."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from app.entrypoints.deps import ClienteContext
from mercado_shared.runtime import app_context, app_runtime
from tests.conftest import STAFF, Client


@dataclass
class CountingHasher:
    """The real hasher, counted."""

    real: Any
    calls: list[str] = field(default_factory=list)

    def hash(self, password: str) -> str:
        self.calls.append("hash")
        return str(self.real.hash(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        self.calls.append("verify")
        return bool(self.real.verify(password_hash, password))

    def needs_rehash(self, password_hash: str) -> bool:
        return bool(self.real.needs_rehash(password_hash))


def test_every_sign_in_does_the_same_work_whoever_the_email_names(client: Client) -> None:
    known, _ = client.register()
    erased, _ = client.register()
    app = client.http.app
    uow = app_runtime(app).uow_factory()
    with uow:  # what an erasure does to the row (the route also asks the orchestrator)
        uow.customers.get_for_update(erased["id"]).anonymise(open_holds=0)
        uow.commit()
    context = app_context(app, ClienteContext)
    counting = CountingHasher(context.hasher)
    app.state.context = replace(context, hasher=counting)  # type: ignore[attr-defined]

    def work(email: str, password: str, status: int) -> list[str]:
        counting.calls.clear()
        answer = client.http.post("/auth/token", data={"username": email, "password": password})
        assert answer.status_code == status, (email, answer.text)
        return list(counting.calls)

    wrong = "not-the-password-at-all"
    erased_email = f"anonymised-{erased['id']}@anonymised.invalid"
    for email in (known["email"], STAFF[0], erased_email, "nobody@example.com", known["email"].upper()):
        assert work(email, wrong, 401) == ["verify"], email
    assert work(known["email"], "a-long-passphrase", 200) == ["verify"]
    assert work(STAFF[0], STAFF[1], 200) == ["verify"]
