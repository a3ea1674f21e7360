"""The services of the system: the one list every other list is derived from.

The Makefile's packages, the test runner's suites, the local stack, the deploy's images
and jobs, the invariants' databases and the generated Terraform read it here; the copies
that cannot import Python (docker-compose.yml, the compose init SQL, Prometheus, the
hand-written Terraform) are held to it by tests/static. Adding a service is its folder,
one entry below, its topology in topology.json, and its handlers (docs/contributing.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceDef:
    name: str  # as on the bus, in Cloud Run and in the topology
    directory: str  # its folder in the repository (the Dockerfile's SERVICE)
    port_env: str  # `make run`'s variable to move it to another port
    default_port: int  # its port locally and in its image (the Dockerfile's PORT)
    database: str  # its own database's name


SERVICES: tuple[ServiceDef, ...] = (
    ServiceDef("cliente-service", "cliente-service", "CLIENTE_PORT", 8080, "cliente"),
    ServiceDef("veiculo-service", "veiculo-service", "VEICULO_PORT", 8081, "veiculo"),
    ServiceDef("pagamento-service", "pagamento-service", "PAGAMENTO_PORT", 8082, "pagamento"),
    ServiceDef("orquestrador", "orquestrador", "ORQUESTRADOR_PORT", 8083, "orquestrador"),
)


def service(name: str) -> ServiceDef:
    return next(s for s in SERVICES if s.name == name)
