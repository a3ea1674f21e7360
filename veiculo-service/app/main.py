"""ASGI entrypoint: ``uvicorn app.main:create_app --factory`` (nothing runs at import)."""

from fastapi import FastAPI

from app.bootstrap import bootstrap


def create_app() -> FastAPI:
    return bootstrap()
