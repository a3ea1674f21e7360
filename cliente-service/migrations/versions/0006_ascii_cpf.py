"""ascii cpf: CPFs stored with another script's digits are rewritten in ASCII, re-indexed

Until now a CPF in Arabic-Indic or full-width digits passed validation (\\d and int()
take them), was stored as written, and got a blind index of its own: the same person
could register twice. Input is ASCII from now on (mercado_shared.text); this rewrites
what was stored. Two customers whose CPFs turn out equal are not merged here: the
migration stops and names them, for a person to resolve.

Data only (no schema change); the downgrade has nothing to restore.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 08:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from mercado_shared.text import ascii_digits


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _vault():
    from app.adapters.crypto import PersonalDataVault
    from app.adapters.keys import ensure_keys, kek_from_settings
    from app.config import ClienteSettings

    kek = kek_from_settings(ClienteSettings())
    keys = ensure_keys(op.get_bind(), kek)
    return PersonalDataVault(kek, lambda: (keys.field, keys.index))


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, document, document_index FROM customers WHERE status = 'ACTIVE'")).all()
    if not rows:
        return
    vault = _vault()
    taken = {row.document_index: row.id for row in rows}
    for row in rows:
        document = vault.decrypt(row.document, "document")
        fixed = ascii_digits(document)
        if fixed == document:
            continue
        index = vault.index(fixed, "document")
        if taken.get(index, row.id) != row.id:
            raise RuntimeError(
                f"customers {row.id} and {taken[index]} have the same CPF once written in ASCII: resolve by hand"
            )
        conn.execute(
            sa.text("UPDATE customers SET document = :document, document_index = :index WHERE id = :id"),
            {"id": row.id, "document": vault.encrypt(fixed, "document"), "index": index},
        )
        taken[index] = row.id


def downgrade() -> None:
    pass
