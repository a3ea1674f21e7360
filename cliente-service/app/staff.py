"""Named staff accounts, created and removed by an operator (docs/operations.md, "Staff"):

    python -m app.staff create ana.souza@mercadoveiculo.com.br
    python -m app.staff list
    python -m app.staff remove ana.souza@mercadoveiculo.com.br

Run with cliente-service's environment (DATABASE_URL and its key-encryption key: locally
DATA_KEK_FILE, in production KMS_KEY_NAME through the Cloud SQL Auth Proxy, from the
operator's own terminal: what ``create`` prints must not land in a log). ``create`` prints,
once, a random password and the TOTP enrolment URI of the new account; the person signs
in with both (the code in the ``totp`` field of POST /auth/token). ``remove`` deletes the
account and ends its sessions in every service. Production has no other staff account:
STAFF_EMAIL / STAFF_PASSWORD exist for local runs and tests only.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.adapters import orm, totp
from app.adapters.keys import kek_from_settings, vault_for
from app.adapters.passwords import Argon2PasswordHasher
from app.config import ClienteSettings
from app.domain.model import StaffMember
from app.service_layer.unit_of_work import ClienteUnitOfWork
from mercado_shared.db import session_factory


def _unit_of_work(settings: ClienteSettings) -> tuple[ClienteUnitOfWork, sa.Engine]:
    engine = sa.create_engine(settings.database_url)
    orm.start_mappers()
    orm.attach_vault(engine, vault_for(engine, kek_from_settings(settings)))
    # No relay here: a running instance's outbox sweep publishes what this writes.
    return ClienteUnitOfWork(session_factory(engine), orm.messaging, None), engine


def create(uow: ClienteUnitOfWork, email: str) -> tuple[StaffMember, str]:
    """A new staff member with a random password and a TOTP secret; returns both, once."""
    email = email.strip().lower()
    password = secrets.token_urlsafe(18)
    member = StaffMember(str(uuid.uuid4()), email, Argon2PasswordHasher().hash(password), totp_secret=totp.new_secret())
    with uow:
        if uow.customers.by_email(email) is not None:
            raise ValueError(f"{email} is a customer's e-mail")
        uow.staff.add(member)
        try:
            uow.commit()
        except IntegrityError:
            raise ValueError(f"{email} is staff already") from None
    return member, password


def remove(uow: ClienteUnitOfWork, email: str) -> bool:
    """Deletes the account and ends its sessions everywhere; False if there was none."""
    with uow:
        member = uow.staff.by_email(email.strip().lower())
        if member is None:
            return False
        uow.end_sessions(member.id, member.session_version + 1)
        uow.session.delete(member)
        uow.commit()
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.staff", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create").add_argument("email")
    commands.add_parser("remove").add_argument("email")
    commands.add_parser("list")
    args = parser.parse_args(argv)
    uow, engine = _unit_of_work(ClienteSettings())
    try:
        if args.command == "create":
            try:
                member, password = create(uow, args.email)
            except ValueError as refused:
                print(refused, file=sys.stderr)
                return 1
            assert member.totp_secret is not None
            print(f"staff {member.email} created ({member.id})")
            print(f"password: {password}")
            print(f"authenticator (scan or type in): {totp.enrolment_uri(member.totp_secret, member.email)}")
            print("Hand both over in person or through a password manager; neither is shown again.")
        elif args.command == "remove":
            if not remove(uow, args.email):
                print(f"no staff {args.email}", file=sys.stderr)
                return 1
            print(f"staff {args.email} removed; their sessions have ended")
        else:
            with uow:
                for member in uow.staff.all():
                    second = "TOTP" if member.totp_secret else "no second factor (local only)"
                    print(f"{member.email}\t{member.id}\t{second}")
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
