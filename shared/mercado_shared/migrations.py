"""Alembic environment shared by the services: each service's ``env.py`` calls
``run_alembic(metadata)``. The database URL comes from DATABASE_URL."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context
from sqlalchemy.pool import NullPool

# Autogenerate (and so ``alembic check``, which make test runs) compares CHECK constraints by
# name too: a constraint added to a model without its migration fails the test. Alembic ships
# the comparison as an opt-in plugin since 1.19.2, for schemas that name every constraint, as
# ours do (https://alembic.sqlalchemy.org/en/latest/autogenerate.html).
AUTOGENERATE_PLUGINS = ["alembic.autogenerate.*", "alembic.ext.checkconstraint_byname"]


def run_alembic(target_metadata: sa.MetaData) -> None:
    url = os.environ.get("DATABASE_URL") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set DATABASE_URL to the service's database")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, autogenerate_plugins=AUTOGENERATE_PLUGINS
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
