"""terraform/ read as Terraform reads it, for the checks `terraform validate` and
`terraform plan` would make if the providers could be downloaded here.

- ``Config`` parses every ``.tf`` (python-hcl2) and ``.tf.json`` file into one set of
  resources, data sources, locals, variables and outputs.
- ``schema_errors`` checks every resource, data source and provider block against the
  providers' schemas (scripts/provider_schema.py): unknown resource types, attributes and
  blocks, missing required ones, attribute/block confusion.
- ``Config.closure`` is the set of resources ``terraform apply -target=…`` creates: the
  targets and, transitively, everything they reference or ``depends_on``, through locals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

from scripts import provider_schema

MARKERS = ("__is_block__", "__comments__", "__inline_comments__", "__start_line__", "__end_line__")
META_ARGUMENTS = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"}
LIFECYCLE = {
    *("create_before_destroy", "prevent_destroy", "ignore_changes"),
    *("replace_triggered_by", "precondition", "postcondition"),
}
DYNAMIC = {"for_each", "iterator", "labels", "content"}
_REFERENCE = re.compile(r"(?<![\w.\-\"])(data\.)?([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\.([A-Za-z_][\w-]*)")
_LOCAL = re.compile(r"(?<![\w.])local\.([A-Za-z_]\w*)")
_ATTRIBUTE = re.compile(_REFERENCE.pattern + r"(?:\[[^\]]*\])?\.([a-z_][a-z0-9_]*)")


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals' quotes and block labels' quotes: drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k not in MARKERS[1:]}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return value


def strings(value: Any) -> Iterator[str]:
    """Every string in a value, keys included (expressions are strings once parsed)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in MARKERS:
                yield str(k)
                yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def is_block(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


@dataclass
class Config:
    """One Terraform root module, every file merged."""

    directory: Path
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "type.name" → body
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # "data.type.name" → body
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    syntax: dict[str, str] = field(default_factory=dict)  # address → "hcl" or "json"
    _dependencies: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, directory: Path) -> Config:
        config = cls(directory)
        for path in sorted(directory.glob("*.tf")):
            with path.open() as f:
                config._add(unquote(hcl2.load(f)), "hcl")
        for path in sorted(directory.glob("*.tf.json")):
            config._add(_json_document(json.loads(path.read_text())), "json")
        return config

    def _add(self, document: dict[str, Any], syntax: str) -> None:
        for entry in document.get("resource", []):
            for kind, named in entry.items():
                for name, body in named.items():
                    self.resources[f"{kind}.{name}"] = body
                    self.syntax[f"{kind}.{name}"] = syntax
        for entry in document.get("data", []):
            for kind, named in entry.items():
                for name, body in named.items():
                    self.data[f"data.{kind}.{name}"] = body
                    self.syntax[f"data.{kind}.{name}"] = syntax
        for entry in document.get("locals", []):
            self.locals.update({k: v for k, v in entry.items() if k not in MARKERS})
        for kind, target in (("variable", self.variables), ("output", self.outputs), ("check", self.checks)):
            for entry in document.get(kind, []):
                target.update(entry)
        for entry in document.get("provider", []):
            self.providers.extend(entry.items())
        self.terraform.extend(document.get("terraform", []))

    # ------------------------------------------------------------------ the graph
    def addresses(self) -> set[str]:
        return set(self.resources) | set(self.data)

    def references(self, value: Any, seen_locals: frozenset[str] = frozenset()) -> set[str]:
        """The resources and data sources an expression refers to, through locals."""
        found: set[str] = set()
        known = self.addresses()
        for text in strings(value):
            for data, kind, name in _REFERENCE.findall(text):
                address = f"{'data.' if data else ''}{kind}.{name}"
                if address in known:
                    found.add(address)
            for local in _LOCAL.findall(text):
                if local in self.locals and local not in seen_locals:
                    found |= self.references(self.locals[local], seen_locals | {local})
        return found

    def dependencies(self, address: str) -> frozenset[str]:
        """What ``address`` refers to or depends on, directly."""
        if address not in self._dependencies:
            body = self.resources.get(address) or self.data[address]
            self._dependencies[address] = frozenset(self.references(body) - {address})
        return self._dependencies[address]

    def closure(self, targets: Iterable[str]) -> set[str]:
        """What ``terraform apply -target=T …`` creates: the targets and everything they
        depend on, transitively (Terraform always includes a target's dependencies)."""
        pending, found = list(targets), set()
        while pending:
            address = pending.pop()
            if address in found:
                continue
            found.add(address)
            pending.extend(self.dependencies(address))
        return found

    # ------------------------------------------------------------------ providers
    def required_providers(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for block in self.terraform:
            for required in block.get("required_providers", []):
                found.update({k: v for k, v in required.items() if k not in MARKERS})
        return found

    def provider_of(self, address: str) -> str:
        body = self.resources.get(address) or self.data.get(address) or {}
        explicit = body.get("provider")
        if explicit:
            return str(explicit).removeprefix("${").removesuffix("}").split(".")[0]
        kind = address.removeprefix("data.").split(".")[0]
        return kind.split("_")[0]


def _json_document(document: dict[str, Any]) -> dict[str, Any]:
    """JSON syntax in the HCL parser's shape: one entry per block kind, lists of blocks."""
    shaped: dict[str, Any] = {}
    for kind, value in document.items():
        if kind == "//":
            continue
        if kind in ("resource", "data"):
            shaped[kind] = [{t: {n: _json_body(b) for n, b in named.items()} for t, named in value.items()}]
        else:
            shaped[kind] = value if isinstance(value, list) else [value]
    return shaped


def _json_body(body: dict[str, Any]) -> dict[str, Any]:
    shaped = {k: v for k, v in body.items() if k != "//"}
    if "depends_on" in shaped:
        shaped["depends_on"] = [f"${{{d}}}" for d in shaped["depends_on"]]
    return shaped


# ---------------------------------------------------------------------- the schema check
@cache
def schemas() -> dict[str, dict[str, Any]]:
    return {b.provider: provider_schema.load(b) for b in provider_schema.BINDINGS}


def schema_errors(config: Config, provider_schemas: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Everything `terraform validate` would refuse about names and shapes, one line each."""
    provider_schemas = provider_schemas if provider_schemas is not None else schemas()
    errors: list[str] = []
    required = config.required_providers()
    for name, spec in required.items():
        schema = provider_schemas.get(name)
        if schema is None:
            errors.append(f"provider {name}: no schema to check it against")
        elif spec.get("version") != schema["version"]:
            errors.append(f"provider {name}: pins {spec.get('version')!r}, the schema checked is {schema['version']}")
    for name, body in config.providers:
        if name in provider_schemas:
            errors += _block_errors(body, provider_schemas[name]["provider"], f"provider {name}", "hcl", top=False)
    for address in sorted(config.addresses()):
        provider = config.provider_of(address)
        schema = provider_schemas.get(provider)
        if provider not in required or schema is None:
            errors.append(f"{address}: provider {provider} is not in required_providers")
            continue
        kind = address.removeprefix("data.").split(".")[0]
        family = schema["data_sources" if address.startswith("data.") else "resources"]
        if kind not in family:
            errors.append(f"{address}: {provider} {schema['version']} has no such type")
            continue
        body = config.resources.get(address) or config.data[address]
        errors += _block_errors(body, family[kind], address, config.syntax[address], top=True)
    errors += _reference_errors(config, provider_schemas)
    return errors


def _reference_errors(config: Config, provider_schemas: dict[str, dict[str, Any]]) -> list[str]:
    """``type.name.attribute`` names an attribute the resource has (computed ones included)."""
    errors: list[str] = []
    places = {**config.resources, **config.data, **{f"local.{k}": v for k, v in config.locals.items()}}
    places.update({f"output.{k}": v for k, v in config.outputs.items()})
    for where, body in places.items():
        for text in strings(body):
            for data, kind, name, attribute in _ATTRIBUTE.findall(text):
                address = f"{'data.' if data else ''}{kind}.{name}"
                if address not in config.addresses():
                    if not data and kind.split("_")[0] in provider_schemas:
                        errors.append(f"{where}: refers to {address}, which is not declared")
                    continue
                schema = provider_schemas.get(config.provider_of(address), {})
                family = schema.get("data_sources" if data else "resources", {})
                exports = family.get(kind, {}).get("exports")
                if exports is not None and attribute not in exports:
                    errors.append(f"{where}: {address} has no attribute {attribute}")
    return sorted(set(errors))


def _block_errors(body: dict[str, Any], schema: dict[str, Any], where: str, syntax: str, *, top: bool) -> list[str]:
    if schema.get("open"):
        return []
    errors: list[str] = []
    attributes, blocks = schema["attributes"], schema["blocks"]
    present: set[str] = set()
    for key, value in body.items():
        if key in MARKERS:
            continue
        path = f"{where}.{key}"
        if top and key in META_ARGUMENTS:
            if key == "lifecycle":
                for block in _instances(value):
                    unknown = set(block) - LIFECYCLE - set(MARKERS)
                    errors += [f"{path}.{k}: not a lifecycle argument" for k in sorted(unknown)]
            continue
        if key == "dynamic":
            for entry in _instances(value):
                for name, spec in entry.items():
                    if name in MARKERS:
                        continue
                    if name not in blocks:
                        errors.append(f"{where}.dynamic {name}: no such block")
                        continue
                    present.add(name)
                    unknown = set(spec) - DYNAMIC - set(MARKERS)
                    errors += [f"{where}.dynamic {name}.{k}: not a dynamic argument" for k in sorted(unknown)]
                    for content in _instances(spec.get("content", [])):
                        errors += _block_errors(content, blocks[name]["block"], f"{where}.{name}", syntax, top=False)
            continue
        if key in attributes:
            if syntax == "hcl" and is_block(value):
                errors.append(f"{path}: an attribute, written as a block")
            present.add(key)
        elif key in blocks:
            if syntax == "hcl" and not is_block(value):
                errors.append(f"{path}: a block, written as an attribute")
                continue
            present.add(key)
            for instance in _instances(value):
                errors += _block_errors(instance, blocks[key]["block"], path, syntax, top=False)
        else:
            errors.append(f"{path}: no such attribute or block")
    for name, spec in (*attributes.items(), *blocks.items()):
        if spec["required"] and name not in present and name != "id":
            errors.append(f"{where}: {name} is required")
    return errors


def _instances(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


# ---------------------------------------------------------------------- arithmetic
class _Object(dict[str, Any]):
    """An HCL object: ``s.attribute`` reads a key."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


def _objects(value: Any) -> Any:
    if isinstance(value, dict):
        return _Object({k: _objects(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_objects(v) for v in value]
    return value


_FOR_MAP = re.compile(r"\{for (\w+), (\w+) in ([\w.]+) : (\w+) => (.+)\}")
_FOR_LIST = re.compile(r"\[for (\w+), (\w+) in ([\w.]+) : (.+)\]")


def evaluate(config: Config, expression: str, variables: dict[str, Any] | None = None) -> Any:
    """The value of a Terraform expression made of numbers, variables, locals, arithmetic,
    comparisons, ``for`` over a map, and ``sum``/``values``/``length`` — what the
    connection budget is made of. ``variables`` override the defaults."""
    values = {name: spec.get("default") for name, spec in config.variables.items()} | (variables or {})

    def local(name: str) -> Any:
        raw = config.locals[name]
        if isinstance(raw, str) and raw.startswith("${") and raw.endswith("}"):
            return evaluate(config, raw, variables)
        return _objects(raw)

    text = expression.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    text = _FOR_MAP.sub(r"{\4: \5 for \1, \2 in (\3).items()}", text)
    text = _FOR_LIST.sub(r"[\4 for \1, \2 in (\3).items()]", text)
    text = re.sub(r"\bvar\.(\w+)", r'V["\1"]', text)
    text = re.sub(r"\blocal\.(\w+)", r'L("\1")', text)
    text = re.sub(r"\bvalues\(", "_values(", text).replace("length(", "len(")
    namespace = {"V": values, "L": local, "_values": lambda m: list(m.values()), "len": len, "sum": sum}
    return eval(text, {"__builtins__": {}, **namespace})  # noqa: S307 (our own Terraform, in a test)


# ---------------------------------------------------------------------- what runs reads
_GRANT = re.compile(r"_iam_(member|binding)$")


def runtime_needs(config: Config, address: str) -> set[str]:
    """What a Cloud Run service, job or other resource reads when it runs, which must exist
    before it does: the versions of the secrets it reads; the databases and users on the
    Cloud SQL instance it mounts; and every grant that lets it (its service account, or a
    Google service agent acting for it) use the project or something it refers to."""
    direct = config.dependencies(address)
    needs: set[str] = set()
    for other, body in config.resources.items():
        kind = other.split(".")[0]
        if kind == "google_secret_manager_secret_version" and config.references(body.get("secret")) & direct:
            needs.add(other)
        if kind in ("google_sql_database", "google_sql_user") and config.references(body.get("instance")) & direct:
            needs.add(other)
        if _GRANT.search(kind):
            members = config.references(body.get("member"))
            acting = members & direct or {m for m in members if m.startswith("google_project_service_identity.")}
            if not acting:
                continue
            on = config.references({k: v for k, v in body.items() if k not in ("member", "depends_on")})
            if (kind == "google_project_iam_member" and members & direct) or on & direct:
                needs.add(other)
    return needs
