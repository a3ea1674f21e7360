"""encrypt personal data

Name, email, phone and CPF become AES-GCM ciphertexts under envelope-encrypted data keys
(``data_keys``); email and CPF get HMAC blind indexes that carry their uniqueness.
Existing rows are encrypted in place, which needs the key-encryption key (DATA_KEK,
DATA_KEK_FILE or KMS_KEY_NAME) in the environment; an empty table does not.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 21:20:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = ("name", "email", "phone", "document")


def _vault():
    from app.adapters.keys import ensure_keys, kek_from_settings
    from app.adapters.crypto import PersonalDataVault
    from app.config import ClienteSettings

    kek = kek_from_settings(ClienteSettings())
    keys = ensure_keys(op.get_bind(), kek)
    return PersonalDataVault(kek, lambda: (keys.field, keys.index))


def _rewrite(transform) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name, email, phone, document FROM customers")).all()
    if not rows:
        return
    vault = _vault()
    for row in rows:
        conn.execute(
            sa.text(
                "UPDATE customers SET name = :name, email = :email, phone = :phone, document = :document, "
                "email_index = :email_index, document_index = :document_index WHERE id = :id"
            ),
            {"id": row.id, **transform(vault, row)},
        )


def _encrypt(vault, row):
    return {
        **{c: vault.encrypt(getattr(row, c), c) for c in COLUMNS},
        "email_index": vault.index(row.email, "email"),
        "document_index": vault.index(row.document, "document"),
    }


def _decrypt(vault, row):
    return {**{c: vault.decrypt(getattr(row, c), c) for c in COLUMNS}, "email_index": None, "document_index": None}


def upgrade() -> None:
    op.create_table(
        'data_keys',
        sa.Column('key_id', sa.Text(), nullable=False),
        sa.Column('purpose', sa.Text(), nullable=False),
        sa.Column('wrapped', sa.LargeBinary(), nullable=False),
        sa.Column('kek_id', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("purpose IN ('field', 'index')", name='ck_data_keys_purpose'),
        sa.PrimaryKeyConstraint('key_id'),
    )
    op.add_column('customers', sa.Column('email_index', sa.Text(), nullable=True))
    op.add_column('customers', sa.Column('document_index', sa.Text(), nullable=True))
    _rewrite(_encrypt)
    op.alter_column('customers', 'email_index', nullable=False)
    op.alter_column('customers', 'document_index', nullable=False)
    op.drop_constraint('customers_email_key', 'customers', type_='unique')
    op.drop_constraint('customers_document_key', 'customers', type_='unique')
    op.create_unique_constraint('customers_email_index_key', 'customers', ['email_index'])
    op.create_unique_constraint('customers_document_index_key', 'customers', ['document_index'])


def downgrade() -> None:
    op.drop_constraint('customers_document_index_key', 'customers', type_='unique')
    op.drop_constraint('customers_email_index_key', 'customers', type_='unique')
    op.alter_column('customers', 'email_index', nullable=True)
    op.alter_column('customers', 'document_index', nullable=True)
    _rewrite(_decrypt)
    op.drop_column('customers', 'document_index')
    op.drop_column('customers', 'email_index')
    op.create_unique_constraint('customers_email_key', 'customers', ['email'])
    op.create_unique_constraint('customers_document_key', 'customers', ['document'])
    op.drop_table('data_keys')
