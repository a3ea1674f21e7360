"""ASGI entrypoint: ``python -m mercado_shared.server`` serves ``app.main:create_app`` (nothing runs at import)."""

from fastapi import FastAPI

from app.bootstrap import bootstrap


def create_app() -> FastAPI:
    return bootstrap()
