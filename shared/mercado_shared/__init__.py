"""Contracts and plumbing shared by every Mercado Veículo service."""
