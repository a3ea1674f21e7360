"""vehicle photos: each uploading (a signed upload URL handed out) or ready (checked, its
renditions published, placed in the gallery). Expand-only: a table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 12:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'vehicle_photos',
        sa.Column('id', sa.Uuid(as_uuid=False), nullable=False),
        sa.Column('vehicle_id', sa.Uuid(as_uuid=False), nullable=False),
        sa.Column('content_type', sa.Text(), nullable=False),
        sa.Column(
            'status',
            sa.Enum('UPLOADING', 'READY', name='ck_photostatus', native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column('position', sa.Integer(), nullable=True),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint(
            "(status = 'READY') = (position IS NOT NULL AND width IS NOT NULL AND height IS NOT NULL)",
            name='ck_vehicle_photos_ready_placed',
        ),
        sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'uq_vehicle_photos_position', 'vehicle_photos', ['vehicle_id', 'position'], unique=True,
        postgresql_where=sa.text('position IS NOT NULL'),
    )
    op.create_index(
        'ix_vehicle_photos_uploading', 'vehicle_photos', ['created_at'],
        postgresql_where=sa.text("status = 'UPLOADING'"),
    )
    op.create_index('ix_vehicle_photos_vehicle', 'vehicle_photos', ['vehicle_id'])


def downgrade() -> None:
    op.drop_index('ix_vehicle_photos_vehicle', table_name='vehicle_photos')
    op.drop_index('ix_vehicle_photos_uploading', table_name='vehicle_photos')
    op.drop_index('uq_vehicle_photos_position', table_name='vehicle_photos')
    op.drop_table('vehicle_photos')
