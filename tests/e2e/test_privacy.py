"""No personal value, token, password or payment code in any log line the services write."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from mercado_devtools.testing.helpers import eventually
from tests.e2e.conftest import Api


def test_a_full_purchase_leaves_no_personal_value_in_the_logs(api: Api) -> None:
    marker = uuid.uuid4().hex[:10]
    name, email, password = f"Zuleika {marker} Prado", f"zuleika.{marker}@example.com", f"pass-{marker}-phrase"
    digits = [api.rng.randrange(10) for _ in range(9)]
    for length in (9, 10):
        total = sum(d * (length + 1 - i) for i, d in enumerate(digits))
        digits.append(total * 10 % 11 % 10)
    cpf = "".join(map(str, digits))
    phone = f"+55 11 9{api.rng.randrange(10**7, 10**8)}"
    api.personal_values.update({name, email, cpf, phone})
    created = api.client.post(
        api.url("cliente-service", "/customers"),
        json={
            "name": name,
            "email": email,
            "phone": phone,
            "document": cpf,
            "password": password,
            "initial_balance": 9000,
        },
        headers=api.staff(),
    )
    assert created.status_code == 201
    bad_login = api.client.post(
        api.url("cliente-service", "/auth/token"), data={"username": email, "password": "wrong"}
    )
    assert bad_login.status_code == 401
    me = api.login(email, password)
    vehicle = api.new_vehicle(8000)
    tx = api.purchase(vehicle["id"], me)["transaction_id"]
    code = api.saga_reaches(tx, me, "AWAITING_PAYMENT")["payment_code"]
    api.client.get(api.url("pagamento-service", f"/payment-codes/{code}"), headers=me)
    assert api.pay(code, me).status_code == 201
    api.saga_reaches(tx, me, "COMPLETED")
    api.client.get(api.url("cliente-service", f"/customers/{created.json()['id']}/export"), headers=me)

    log_file = Path(api.stack.config.run_dir) / "services.log"

    def spans_written() -> str:
        logs = log_file.read_text(errors="replace")
        assert tx in logs  # the lines of this purchase were written (with its correlation id)
        # The span of the GET of the code above, exported: what it carries is in the log now.
        assert '"/payment-codes/{code}"' in logs
        return logs

    logs = eventually(spans_written, timeout=30)
    secrets = {
        "name": marker,  # every personal value above carries the marker
        "cpf": cpf,
        "formatted cpf": f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}",
        "phone": re.sub(r"\D", "", phone)[-8:],
        "token": me["Authorization"].split()[1][-40:],
        "payment code": code,
    }
    found = {what for what, value in secrets.items() if value in logs}
    assert found == set(), f"found in the logs: {found}"


@pytest.mark.after_everything
def test_a_dump_of_every_database_holds_no_personal_value_in_clear(api: Api) -> None:
    """Encryption at rest: after the whole session, a plain SQL dump (what a stolen backup
    or a read-only SQL account sees) shows none of the names, emails, phones or CPFs, in
    cliente-service's database (encrypted there) or in any other (never copied there)."""
    assert len(api.personal_values) >= 4, "the session registered customers through Api"
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump comes with PostgreSQL (scripts/install.sh)"
    dumps = {}
    for database, url in api.stack.databases().items():
        libpq_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        dumps[database] = subprocess.run(
            [pg_dump, "--no-owner", "--inserts", libpq_url], capture_output=True, text=True, check=True
        ).stdout
    customer_rows = re.findall(r"INSERT INTO public\.customers VALUES \(([^\n]*)\);", dumps["cliente"])
    assert len(customer_rows) >= len(api.personal_values) // 4  # the customers are in the dump…
    assert all(row.count("'v1.") == 4 for row in customer_rows)  # …with four ciphertexts each
    variants = {v for value in api.personal_values for v in (value, value.lower(), re.sub(r"\D", "", value))}
    found = sorted((database, v) for database, dump in dumps.items() for v in variants if len(v) >= 8 and v in dump)
    assert found == [], f"in clear in a dump: {found[:5]}"
