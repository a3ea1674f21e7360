"""The data-key store: wrapped data keys in the ``data_keys`` table, and their rotation.

- ``purpose = 'field'``: AES-256 keys that wrap each customer's own key (``customer_keys``)
  and encrypt the few values that belong to no customer; the newest encrypts.
- ``purpose = 'index'``: the one HMAC key of the blind indexes. It does not rotate on its
  own (every index would have to be recomputed at once); rotating the KEK rewraps it.

Every key is stored wrapped by the key-encryption key named in ``kek_id``, so a database
dump or backup alone decrypts nothing.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.adapters.crypto import CloudKmsKek, Kek, LocalKek, PersonalDataVault, RowKey, WrappedKey, new_data_key
from app.config import ClienteSettings

# Encrypted columns of the customers table, by the name each one's ciphertexts are bound to.
ENCRYPTED_COLUMNS = ("name", "email", "phone", "document")
_LOCK = 0x6B657973  # "keys": one instance creates the first keys, the others wait and read them


def kek_from_settings(settings: ClienteSettings) -> Kek:
    if settings.kms_key_name:
        return CloudKmsKek(settings.kms_key_name)
    encoded = (
        settings.data_kek.get_secret_value()
        if settings.data_kek
        else Path(settings.data_kek_file or "").read_text().strip()
    )
    try:
        return LocalKek(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise ValueError("DATA_KEK must be 32 random bytes in base64 (openssl rand -base64 32)") from None


def kek_id(kek: Kek) -> str:
    """Names the KEK (never its material) so a mismatch is reported clearly."""
    if isinstance(kek, CloudKmsKek):
        return f"kms:{kek.key_name}"
    if isinstance(kek, LocalKek):
        return f"local:{kek.fingerprint}"
    return type(kek).__name__


@dataclass(frozen=True)
class KeySet:
    field: list[WrappedKey]
    index: WrappedKey


def ensure_keys(conn: Connection, kek: Kek) -> KeySet:
    """The stored keys, creating the first field key and the index key if there are none."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    rows = _rows(conn)
    if not any(r.purpose == "field" for r in rows):
        _insert(conn, kek, "field")
    if not any(r.purpose == "index" for r in rows):
        _insert(conn, kek, "index")
    return _keyset(conn, kek)


def load_keys(engine: Engine, kek: Kek) -> tuple[list[WrappedKey], WrappedKey]:
    with engine.begin() as conn:
        keys = ensure_keys(conn, kek)
    return keys.field, keys.index


def vault_for(engine: Engine, kek: Kek) -> PersonalDataVault:
    return PersonalDataVault(kek, lambda: load_keys(engine, kek))


def rotate_field_key(conn: Connection, kek: Kek) -> str:
    """Adds a new field key (the newest encrypts from now on) and returns its id."""
    ensure_keys(conn, kek)
    return _insert(conn, kek, "field")


_CUSTOMERS = sa.table(
    "customers",
    sa.column("id"),
    *(sa.column(c) for c in ENCRYPTED_COLUMNS),
    *(sa.column(f"sealed_{c}") for c in ENCRYPTED_COLUMNS),
)  # ciphertexts as text
_CUSTOMER_KEYS = sa.table("customer_keys", sa.column("customer_id"), sa.column("wrapped"))


def reencrypt(conn: Connection, vault: PersonalDataVault, batch: int = 500) -> int:
    """Re-encrypts every customer's v1 fields still under an older data key, and rewraps
    every customer key still wrapped by one; returns how many customers changed. (v2 fields
    do not change: they are sealed under the customer's own key.)"""
    current = vault.current_key_id
    stale = sa.or_(*(sa.func.split_part(_CUSTOMERS.c[c], ".", 2) != current for c in ENCRYPTED_COLUMNS))
    done = 0
    query = sa.select(_CUSTOMERS.c.id, *(_CUSTOMERS.c[c] for c in ENCRYPTED_COLUMNS)).where(stale)
    while rows := conn.execute(query.limit(batch).with_for_update(skip_locked=True)).all():
        for row in rows:
            values = {c: vault.encrypt(vault.decrypt(getattr(row, c), c), c) for c in ENCRYPTED_COLUMNS}
            conn.execute(sa.update(_CUSTOMERS).where(_CUSTOMERS.c.id == row.id).values(**values))
        done += len(rows)
    keys = _CUSTOMER_KEYS
    stale_keys = sa.select(keys).where(sa.func.split_part(keys.c.wrapped, ".", 2) != current)
    while rows := conn.execute(stale_keys.limit(batch).with_for_update(skip_locked=True)).all():
        for row in rows:
            key = vault.unwrap_row_key(row.wrapped, "customers", str(row.customer_id))
            wrapped = vault.wrap_row_key(key, "customers", str(row.customer_id))
            conn.execute(sa.update(keys).where(keys.c.customer_id == row.customer_id).values(wrapped=wrapped))
        done += len(rows)
    return done


def seal(conn: Connection, vault: PersonalDataVault, batch: int = 500) -> int:
    """Gives every customer written last by a revision before customer keys a key of its
    own and its v2 fields (the next release's migration runs it before v1 goes); returns
    how many. A customer that already has a key keeps it."""
    unsealed = sa.or_(*(_CUSTOMERS.c[f"sealed_{c}"].is_(None) for c in ENCRYPTED_COLUMNS))
    query = (
        sa.select(_CUSTOMERS.c.id, *(_CUSTOMERS.c[c] for c in ENCRYPTED_COLUMNS), _CUSTOMER_KEYS.c.wrapped)
        .outerjoin(_CUSTOMER_KEYS, _CUSTOMER_KEYS.c.customer_id == _CUSTOMERS.c.id)
        .where(unsealed)
    )
    done = 0
    while rows := conn.execute(query.limit(batch).with_for_update(of=_CUSTOMERS, skip_locked=True)).all():
        for row in rows:
            customer_id = str(row.id)
            if row.wrapped is None:
                key = RowKey.new("customers", customer_id)
                wrapped = vault.wrap_row_key(key, "customers", customer_id)
                conn.execute(sa.insert(_CUSTOMER_KEYS).values(customer_id=row.id, wrapped=wrapped))
            else:
                key = vault.unwrap_row_key(row.wrapped, "customers", customer_id)
            values = {f"sealed_{c}": key.seal(vault.decrypt(getattr(row, c), c), c) for c in ENCRYPTED_COLUMNS}
            conn.execute(sa.update(_CUSTOMERS).where(_CUSTOMERS.c.id == row.id).values(**values))
        done += len(rows)
    return done


def rewrap(conn: Connection, old: Kek, new: Kek) -> int:
    """KEK rotation: every data key unwrapped with ``old`` and stored wrapped by ``new``."""
    rows = conn.execute(sa.text("SELECT key_id, wrapped FROM data_keys FOR UPDATE")).all()
    for row in rows:
        conn.execute(
            sa.text("UPDATE data_keys SET wrapped = :w, kek_id = :k WHERE key_id = :id"),
            {"w": new.wrap(old.unwrap(bytes(row.wrapped))), "k": kek_id(new), "id": row.key_id},
        )
    return len(rows)


def _rows(conn: Connection) -> list[sa.Row[tuple[str, str, bytes, str]]]:
    return list(
        conn.execute(sa.text("SELECT key_id, purpose, wrapped, kek_id FROM data_keys ORDER BY created_at, key_id"))
    )


def _keyset(conn: Connection, kek: Kek) -> KeySet:
    rows = _rows(conn)
    foreign = {r.kek_id for r in rows} - {kek_id(kek)}
    if foreign:
        raise RuntimeError(
            f"data keys are wrapped by {sorted(foreign)}, not by the configured {kek_id(kek)}: "
            "set the right DATA_KEK / KMS_KEY_NAME, or rewrap the keys (docs/operations.md)"
        )
    field = [WrappedKey(r.key_id, bytes(r.wrapped)) for r in rows if r.purpose == "field"]
    index = next(WrappedKey(r.key_id, bytes(r.wrapped)) for r in rows if r.purpose == "index")
    return KeySet(field, index)


def _insert(conn: Connection, kek: Kek, purpose: str) -> str:
    key = new_data_key(kek, f"{purpose[0]}{secrets.token_hex(4)}")
    conn.execute(
        sa.text(
            "INSERT INTO data_keys (key_id, purpose, wrapped, kek_id, created_at) "
            "VALUES (:id, :p, :w, :k, clock_timestamp())"
        ),
        {"id": key.key_id, "p": purpose, "w": key.wrapped, "k": kek_id(kek)},
    )
    return key.key_id


def main(argv: list[str] | None = None) -> int:
    """Operators' key commands (docs/operations.md), run with the service's environment:

    - ``rotate``: a new data key encrypts from now on; every row is re-encrypted, and every
      customer's key rewrapped, under it.
    - ``reencrypt``: re-encrypts rows and rewraps customer keys still under older keys
      (after instances that had not yet seen a rotation wrote some).
    - ``seal``: gives each customer written last by a revision before customer keys its
      own key and sealed fields (run once the rollout of customer keys is over).
    - ``rewrap --new-data-kek-file F | --new-kms-key-name N``: KEK rotation; the data keys
      are rewrapped, no row changes. Then point the service at the new KEK.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m app.adapters.keys", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("rotate")
    commands.add_parser("reencrypt")
    commands.add_parser("seal")
    rewrap_parser = commands.add_parser("rewrap")
    target = rewrap_parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--new-data-kek-file")
    target.add_argument("--new-kms-key-name")
    args = parser.parse_args(argv)

    settings = ClienteSettings()
    kek = kek_from_settings(settings)
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            if args.command == "rotate":
                print(f"new data key {rotate_field_key(conn, kek)}")
            if args.command == "rewrap":
                new_settings = {"data_kek_file": args.new_data_kek_file, "kms_key_name": args.new_kms_key_name}
                new = kek_from_settings(ClienteSettings.model_validate({"database_url": "-", **new_settings}))
                print(f"rewrapped {rewrap(conn, kek, new)} data keys for {kek_id(new)}")
                return 0
        if args.command == "seal":
            with engine.begin() as conn:
                print(f"sealed {seal(conn, vault_for(engine, kek))} customers under their own keys")
        if args.command in ("rotate", "reencrypt"):
            with engine.begin() as conn:
                print(f"re-encrypted {reencrypt(conn, vault_for(engine, kek))} customers")
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
