"""rate limits

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 20:01:20.388868

"""
from typing import Sequence, Union

from alembic import op
from mercado_shared.ratelimit import create_rate_limit_table


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    create_rate_limit_table(op)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("rate_limits")
