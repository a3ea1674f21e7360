"""Sign-in and registration limits, by account and by address: a stranger cannot lock the
owner out, one address cannot spray a password over many accounts, parallel guesses
cannot outrun the count, and the address is the one the load balancer saw."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import ClienteSettings
from mercado_devtools.testing.helpers import serve
from tests.conftest import Client

WRONG = "not-the-password"
RIGHT = "a-long-passphrase"


@pytest.fixture
def limited(settings: ClienteSettings) -> ClienteSettings:
    return settings.model_copy(
        update={
            "login_failures_per_window": 5,
            "login_failures_per_address": 10,
            "login_attempts_per_address": 15,
            "registrations_per_address": 3,
            "forwarded_for_hops": 2,
        }
    )


@pytest.fixture
def app(limited: ClienteSettings) -> Any:
    return bootstrap(limited)


def sign_in(http: TestClient, email: str, password: str, address: str, claimed: str = "") -> httpx.Response:
    """As the load balancer forwards it: the client's claim, then the client, then the LB."""
    chain = ", ".join(a for a in (claimed, address, "130.211.0.1") if a)
    response: httpx.Response = http.post(
        "/auth/token", data={"username": email, "password": password}, headers={"X-Forwarded-For": chain}
    )
    return response


def test_a_stranger_guessing_from_elsewhere_never_locks_the_owner_out(app: Any, limited: ClienteSettings) -> None:
    with TestClient(app) as http:
        owner = Client(http).register()[0]["email"]
        for _ in range(5):
            assert sign_in(http, owner, WRONG, "203.0.113.66").status_code == 401
        refused = sign_in(http, owner, RIGHT, "203.0.113.66")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1  # the guesser's own address
        assert sign_in(http, owner, RIGHT, "198.51.100.7").status_code == 200  # the owner, from home
        # The address is the one the load balancer appended, not what the client claims.
        assert sign_in(http, owner, RIGHT, "203.0.113.66", claimed="198.51.100.7").status_code == 429


def test_one_address_cannot_spray_a_password_over_many_accounts(app: Any) -> None:
    with TestClient(app) as http:
        client = Client(http)
        staff = client.staff()
        accounts = [client.register(staff)[0]["email"] for _ in range(12)]
        answers = [sign_in(http, email, "Summer2026!", "203.0.113.9").status_code for email in accounts]
        assert answers[:10] == [401] * 10 and set(answers[10:]) == {429}
        assert sign_in(http, accounts[-1], RIGHT, "198.51.100.7").status_code == 200


def test_parallel_guesses_cannot_outrun_the_count(app: Any) -> None:
    with serve(app) as url, ThreadPoolExecutor(12) as pool:  # a real server: requests really overlap
        body = Client.body()
        assert httpx.post(url + "/customers", json=body, timeout=30).status_code == 201
        owner = body["email"]
        answers = Counter(
            pool.map(
                lambda _: (
                    httpx.post(
                        url + "/auth/token",
                        data={"username": owner, "password": WRONG},
                        headers={"X-Forwarded-For": "203.0.113.5, 130.211.0.1"},
                        timeout=30,
                    ).status_code
                ),
                range(12),
            )
        )
    assert answers[401] == 5 and answers[429] == 7  # never more guesses checked than the bucket holds


def test_every_address_has_its_own_allowance_of_attempts_and_registrations(app: Any) -> None:
    with TestClient(app) as http:
        client = Client(http)
        for n in range(3):
            body = client.body()
            headers = {"X-Forwarded-For": "203.0.113.20, 130.211.0.1"}
            assert http.post("/customers", json=body, headers=headers).status_code == 201, n
        refused = http.post("/customers", json=client.body(), headers=headers)
        assert refused.status_code == 429 and refused.json()["detail"]["code"] == "TOO_MANY_REQUESTS"
        assert "Retry-After" in refused.headers
        elsewhere = {"X-Forwarded-For": "198.51.100.20, 130.211.0.1"}
        assert http.post("/customers", json=client.body(), headers=elsewhere).status_code == 201
        staff = client.staff()  # staff registering customers are not limited per address
        for _ in range(4):
            assert http.post("/customers", json=client.body(), headers={**headers, **staff}).status_code == 201
        owner = client.register(staff)[0]["email"]
        # Attempts count whatever their outcome: a full allowance, then 429. The allowance
        # refills as time passes (one attempt every 4 s), so a slow machine may be let in
        # once more before the refusal: sign in until it comes, not a fixed 16 times.
        answers: list[int] = []
        while 429 not in answers and len(answers) < 60:
            answers.append(sign_in(http, owner, RIGHT, "192.0.2.1").status_code)
        assert answers[:15] == [200] * 15 and answers[-1] == 429 and set(answers) == {200, 429}
        assert sign_in(http, owner, RIGHT, "192.0.2.2").status_code == 200


def test_one_address_may_hear_only_so_often_that_an_email_or_cpf_is_a_customer(limited: ClienteSettings) -> None:
    settings = limited.model_copy(update={"registrations_per_address": 50, "registration_conflicts_per_address": 3})
    prober = {"X-Forwarded-For": "203.0.113.40, 130.211.0.1"}
    with TestClient(bootstrap(settings)) as http:
        client = Client(http)
        known = client.body()
        assert http.post("/customers", json=known, headers=prober).status_code == 201
        for _ in range(4):  # registrations that succeed do not count against the prober
            assert http.post("/customers", json=client.body(), headers=prober).status_code == 201
        probes = [
            client.body(email=known["email"]),
            client.body(document=known["document"]),
            client.body(email=known["email"]),
        ]
        answers = [http.post("/customers", json=probe, headers=prober).json()["detail"]["code"] for probe in probes]
        assert answers == ["EMAIL_ALREADY_REGISTERED", "DOCUMENT_ALREADY_REGISTERED", "EMAIL_ALREADY_REGISTERED"]
        refused = http.post("/customers", json=client.body(document=known["document"]), headers=prober)
        assert (refused.status_code, refused.json()["detail"]["code"]) == (429, "TOO_MANY_REQUESTS")
        assert int(refused.headers["Retry-After"]) >= 1
        elsewhere = {"X-Forwarded-For": "198.51.100.40, 130.211.0.1"}
        answer = http.post("/customers", json=client.body(document=known["document"]), headers=elsewhere)
        assert answer.json()["detail"]["code"] == "DOCUMENT_ALREADY_REGISTERED"


def test_parallel_probes_cannot_outrun_the_count_of_duplicates(limited: ClienteSettings) -> None:
    settings = limited.model_copy(update={"registrations_per_address": 50, "registration_conflicts_per_address": 3})
    with serve(bootstrap(settings)) as url, ThreadPoolExecutor(10) as pool:
        known = Client.body()
        assert httpx.post(url + "/customers", json=known, timeout=30).status_code == 201
        answers = Counter(
            pool.map(
                lambda _: (
                    httpx.post(
                        url + "/customers",
                        json=Client.body(email=known["email"]),
                        headers={"X-Forwarded-For": "203.0.113.41, 130.211.0.1"},
                        timeout=30,
                    ).status_code
                ),
                range(10),
            )
        )
    assert answers == Counter({409: 3, 429: 7})
