"""vehicle details a buyer searches by: mileage, fuel, transmission, version (trim), doors,
features (known options) and a description. Expand-only: new columns, every one of them
empty or NULL for the vehicles listed before (the revision still serving never writes
them; features default to none).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FUELS = ('gasolina', 'etanol', 'flex', 'diesel', 'eletrico', 'hibrido')
TRANSMISSIONS = ('manual', 'automatico', 'cvt', 'automatizado')
FEATURES = (
    'ar_condicionado', 'direcao_hidraulica', 'direcao_eletrica', 'vidros_eletricos', 'travas_eletricas', 'airbag',
    'freios_abs', 'central_multimidia', 'camera_de_re', 'sensor_de_estacionamento', 'piloto_automatico',
    'bancos_de_couro', 'teto_solar', 'rodas_de_liga_leve', 'chave_presencial', 'tracao_4x4',
)


def upgrade() -> None:
    op.add_column('vehicles', sa.Column('mileage_km', sa.Integer(), nullable=True))
    op.add_column(
        'vehicles',
        sa.Column('fuel', sa.Enum(*FUELS, name='ck_fuel', native_enum=False, create_constraint=True, length=20), nullable=True),
    )
    op.add_column(
        'vehicles',
        sa.Column(
            'transmission',
            sa.Enum(*TRANSMISSIONS, name='ck_transmission', native_enum=False, create_constraint=True, length=20),
            nullable=True,
        ),
    )
    op.add_column('vehicles', sa.Column('version', sa.Text(), nullable=True))
    op.add_column('vehicles', sa.Column('doors', sa.SmallInteger(), nullable=True))
    op.add_column('vehicles', sa.Column('features', ARRAY(sa.Text()), nullable=False, server_default='{}'))
    op.add_column('vehicles', sa.Column('description', sa.Text(), nullable=True))
    op.create_check_constraint('ck_vehicles_mileage_range', 'vehicles', 'mileage_km BETWEEN 0 AND 2000000')
    op.create_check_constraint('ck_vehicles_doors', 'vehicles', 'doors IN (2, 3, 4, 5)')
    op.create_check_constraint('ck_vehicles_version_length', 'vehicles', 'char_length(version) BETWEEN 1 AND 60')
    op.create_check_constraint(
        'ck_vehicles_description_length', 'vehicles', 'char_length(description) BETWEEN 1 AND 4000'
    )
    op.create_check_constraint(
        'ck_vehicles_features', 'vehicles', 'features <@ ARRAY[' + ', '.join(f"'{f}'" for f in FEATURES) + ']::text[]'
    )


def downgrade() -> None:
    for column in ('description', 'features', 'doors', 'version', 'transmission', 'fuel', 'mileage_km'):
        op.drop_column('vehicles', column)
