"""Offline schema validation of declared objects: built-in kinds against the Kubernetes OpenAPI schemas
(kubernetes-validate, strict), custom resources against tests/schemas (unknown fields fail)."""

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33"
"""The Kubernetes minor the built-in objects are validated against."""
SCHEMAS_DIR = Path(__file__).parent / "schemas"
NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes-cert-manager:", "mesh-tracing:")
"""Resource types that are not Kubernetes objects: charts and components."""


def api_group(resource_type: str) -> str:
    """`kubernetes:networking.istio.io/v1:Gateway` -> `networking.istio.io`; `core` for the core group."""
    return resource_type.split(":")[1].split("/")[0]


@cache
def _custom_validators(group: str) -> dict[str, jsonschema.protocols.Validator]:
    path = SCHEMAS_DIR / f"{group}.yaml"
    if not path.exists():
        return {}
    common = yaml.safe_load((SCHEMAS_DIR / "_common.yaml").read_text())["$defs"]
    document = yaml.safe_load(path.read_text())
    definitions = {**common, **document.get("$defs", {})}
    return {
        kind: jsonschema.Draft202012Validator({"$defs": definitions, **schema})
        for kind, schema in document["kinds"].items()
    }


def is_custom(resource_type: str) -> bool:
    return (SCHEMAS_DIR / f"{api_group(resource_type)}.yaml").exists()


def is_kubernetes_object(resource_type: str) -> bool:
    return resource_type.startswith("kubernetes:") and not resource_type.startswith(NOT_OBJECTS)


def schema_errors(resource_type: str, manifest: dict[str, Any]) -> list[str]:
    """Why `manifest` is not a valid object of its kind (empty when it is)."""
    if is_custom(resource_type):
        validator = _custom_validators(api_group(resource_type)).get(manifest.get("kind", ""))
        if validator is None:
            return [f"no schema for {manifest.get('kind')} in tests/schemas/{api_group(resource_type)}.yaml"]
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)
        ]
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(map(str, error.path))}: {error.message}"]
    return []
