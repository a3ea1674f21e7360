"""The Terraform providers' schemas, for checking terraform/ where `terraform validate` cannot run.

`terraform validate` needs the providers' binaries, which cannot be downloaded here. Their
complete schemas are published on PyPI all the same, inside the providers' CDK for
Terraform bindings: each wheel ships a jsii assembly (JSON) with one class per resource
and data source and one interface per configuration block, every property marked optional
or not and documented with a link to the registry page of its Terraform name
(``…/docs/resources/sql_database_instance#ipv4_enabled``). This script downloads the
wheel of each provider version that terraform/versions.tf pins, reduces its assembly to
the schema Terraform checks (attributes, nested blocks, required or not) and caches that
under .cache/provider-schemas/ (not in git: the wheels are 50 MB each).

    python scripts/provider_schema.py          # fetch what is missing (make test does this)
    python scripts/provider_schema.py --force  # fetch again

tests/static/test_terraform_schema.py checks every .tf and .tf.json file against them.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "provider-schemas"


@dataclass(frozen=True)
class Binding:
    """A provider version and the PyPI release of its CDK bindings that carries its schema."""

    provider: str  # the local name in required_providers
    source: str
    version: str
    package: str
    package_version: str

    @property
    def cached(self) -> Path:
        return CACHE / f"{self.provider}-{self.version}.json"


# The versions terraform/versions.tf pins, exactly (a test holds the two together).
BINDINGS = (
    Binding("google", "hashicorp/google", "8.7.0", "cdktn-provider-google", "21.1.0"),
    Binding("google-beta", "hashicorp/google-beta", "8.7.0", "cdktn-provider-google-beta", "21.1.0"),
    Binding("random", "hashicorp/random", "3.7.2", "cdktf-cdktf-provider-random", "12.0.1"),
    Binding("tls", "hashicorp/tls", "4.1.0", "cdktf-cdktf-provider-tls", "11.0.1"),
    Binding("time", "hashicorp/time", "0.13.1", "cdktf-cdktf-provider-time", "11.0.1"),
)

_REPRESENTS = re.compile(
    r"Represents a \{@link (https://registry\.terraform\.io/providers/([\w-]+)/([\w-]+)/([\d.]+)/docs\S*) (\S+)\}"
)
_ATTRIBUTE_LINK = re.compile(r"\{@link https://registry\.terraform\.io/\S+#(\w+) \S+\}")


def reduce_assembly(assembly: dict[str, Any]) -> dict[str, Any]:
    """The schema in an assembly: ``{"version", "provider", "resources", "data_sources"}``,
    each block ``{"attributes": {name: {"required": bool}}, "blocks": {name: {"required",
    "block"}}}``; a resource's or data source's also lists the attributes it ``exports``."""
    types: dict[str, Any] = assembly["types"]
    found: dict[str, Any] = {"version": None, "provider": None, "resources": {}, "data_sources": {}}
    for spec in types.values():
        match = _REPRESENTS.search(spec.get("docs", {}).get("summary", ""))
        if spec["kind"] != "class" or not match:
            continue
        url, name, version = match.group(1), match.group(5), match.group(4)
        config = next((p for p in spec.get("initializer", {}).get("parameters", []) if p["name"] == "config"), None)
        block = _block(types, config["type"]["fqn"]) if config else {"attributes": {}, "blocks": {}}
        block["exports"] = sorted(  # every attribute others may refer to, computed ones included
            _snake(p["name"])
            for p in spec.get("properties", [])
            if not p.get("static") and not p["name"].endswith("Input")
        )
        if url.endswith("/docs"):
            found["provider"], found["version"] = block, version
        elif "/docs/resources/" in url:
            found["resources"][name] = block
        elif "/docs/data-sources/" in url:
            found["data_sources"][name] = block
    return found


def _block(types: dict[str, Any], fqn: str, within: tuple[str, ...] = ()) -> dict[str, Any]:
    if fqn in within:  # a type that nests itself (a few do): accepted as it comes, unchecked
        return {"attributes": {}, "blocks": {}, "open": True}
    attributes: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    for prop in _properties(types, fqn):
        name = _terraform_name(prop)
        required = not prop.get("optional", False)
        nested = _nested_interface(types, prop["type"])
        if nested is None:
            attributes[name] = {"required": required}
        else:
            blocks[name] = {"required": required, "block": _block(types, nested, (*within, fqn))}
    return {"attributes": attributes, "blocks": blocks}


def _properties(types: dict[str, Any], fqn: str) -> list[dict[str, Any]]:
    """An interface's properties with those it inherits, except the CDK's own (count,
    for_each, depends_on, lifecycle, provider…: Terraform's meta-arguments)."""
    spec = types.get(fqn)
    if spec is None:  # cdktf.TerraformMetaArguments and the like live in another assembly
        return []
    inherited = [p for parent in spec.get("interfaces", []) for p in _properties(types, parent)]
    return inherited + list(spec.get("properties", []))


def _nested_interface(types: dict[str, Any], type_ref: dict[str, Any]) -> str | None:
    """The configuration interface a property's type names (a nested block), if any."""
    if "fqn" in type_ref:
        spec = types.get(type_ref["fqn"])
        return type_ref["fqn"] if spec and spec["kind"] == "interface" and spec.get("datatype") else None
    if "collection" in type_ref:
        return _nested_interface(types, type_ref["collection"]["elementtype"])
    if "union" in type_ref:
        for option in type_ref["union"]["types"]:
            found = _nested_interface(types, option)
            if found:
                return found
    return None


def _terraform_name(prop: dict[str, Any]) -> str:
    docs = prop.get("docs", {})
    match = _ATTRIBUTE_LINK.search(docs.get("remarks", "") + " " + docs.get("summary", ""))
    if match:
        return match.group(1)
    return _snake(prop["name"])


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()  # camelCase back to snake_case


def fetch(binding: Binding) -> Path:
    """Download the binding's wheel, reduce its assembly and cache the schema."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                f"{binding.package}=={binding.package_version}",
                "-d",
                tmp,
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            tarball = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
            with tarfile.open(fileobj=io.BytesIO(archive.read(tarball))) as package:
                member = package.extractfile("package/.jsii")
                assert member is not None, f"{wheel.name} has no jsii assembly"
                schema = reduce_assembly(json.load(member))
    if schema["version"] != binding.version:
        raise SystemExit(f"{binding.package} {binding.package_version} is {binding.source} {schema['version']}")
    CACHE.mkdir(parents=True, exist_ok=True)
    binding.cached.write_text(json.dumps(schema, sort_keys=True))
    return binding.cached


def load(binding: Binding) -> dict[str, Any]:
    if not binding.cached.exists():
        raise FileNotFoundError(f"{binding.cached} is missing: run python scripts/provider_schema.py")
    schema: dict[str, Any] = json.loads(binding.cached.read_text())
    return schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="fetch even what is cached")
    args = parser.parse_args(argv)
    for binding in BINDINGS:
        if args.force or not binding.cached.exists():
            source = f"{binding.package} {binding.package_version}"
            print(f"provider schema: {binding.source} {binding.version}, from {source}")
            fetch(binding)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
