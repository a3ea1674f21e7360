"""Static checks of what cannot run here (no Docker engine, no GCP): containers, compose,
Terraform. They read the files and compare them with the code they must agree with."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

from pydantic_settings import BaseSettings

from mercado_shared.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]


@cache
def config_module(service: str) -> ModuleType:
    """The service's app/config.py, loaded from its file (every service's package is ``app``)."""
    directory = next(s.directory for s in SERVICES if s.name == service)
    spec = importlib.util.spec_from_file_location(
        f"_config_{service.replace('-', '_')}", ROOT / directory / "app" / "config.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def settings_class(service: str) -> type[BaseSettings]:
    """The service's settings class."""
    module = config_module(service)
    found = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, BaseSettings) and v.__module__ == module.__name__
    ]
    assert len(found) == 1, found
    return found[0]


def env_names(service: str) -> set[str]:
    """Every environment variable the service reads."""
    return {name.upper() for name in settings_class(service).model_fields}
