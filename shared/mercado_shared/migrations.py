"""The Alembic environment shared by the services (``alembic_env/env.py`` runs it). Each
service's alembic.ini names its models' metadata as ``target_metadata = module:name``; the
database URL comes from DATABASE_URL."""

from __future__ import annotations

import importlib
import os

import sqlalchemy as sa
from alembic import context
from sqlalchemy.pool import NullPool

from mercado_shared import check_constraints

# Autogenerate (and so ``alembic check``, which make test runs) compares CHECK constraints by
# name too: a constraint added to a model without its migration fails the test. Alembic ships
# the comparison as an opt-in plugin since 1.19.2, for schemas that name every constraint, as
# ours do (https://alembic.sqlalchemy.org/en/latest/autogenerate.html).
# Alembic's comparison finds a named constraint added or removed, not one whose condition
# changed; mercado_shared.check_constraints finds that too (a new value of an enum column).
AUTOGENERATE_PLUGINS = ["alembic.autogenerate.*", "alembic.ext.checkconstraint_byname", check_constraints.NAME]


def target_metadata() -> sa.MetaData:
    module, _, name = (context.config.get_main_option("target_metadata") or "").partition(":")
    if not name:
        raise RuntimeError("alembic.ini names no target_metadata (module:name)")
    metadata = getattr(importlib.import_module(module), name)
    assert isinstance(metadata, sa.MetaData), f"{module}:{name} is not a MetaData"
    return metadata


def run_alembic() -> None:
    url = os.environ.get("DATABASE_URL") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set DATABASE_URL to the service's database")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata(), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    check_constraints.register()
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata(), autogenerate_plugins=AUTOGENERATE_PLUGINS
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
