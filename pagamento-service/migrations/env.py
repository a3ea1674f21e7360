from app.adapters.orm import metadata
from mercado_shared.migrations import run_alembic

run_alembic(metadata)
