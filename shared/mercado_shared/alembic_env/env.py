"""The Alembic environment of every service (its alembic.ini names it as
``script_location = mercado_shared:alembic_env``): the revisions are the service's own,
in its ``migrations/versions``; what they are compared with is its ``target_metadata``."""

from mercado_shared.migrations import run_alembic

run_alembic()
