"""Every object the stacks declare is valid for its kind, offline: unknown fields fail."""

import copy
from typing import Any

import pytest

from tests.program import STACKS, committed_plan
from tests.schema_validation import is_custom, is_kubernetes_object, schema_errors


def declared_objects(stack: str) -> list[dict[str, Any]]:
    plan = committed_plan(stack)
    return [
        r
        for r in plan["resources"]
        if is_kubernetes_object(r["type"]) and not r.get("options", {}).get("read")
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_every_declared_object_validates_against_its_schema(stack: str) -> None:
    objects = declared_objects(stack)
    assert any(is_custom(r["type"]) for r in objects) and any(not is_custom(r["type"]) for r in objects)
    problems = {r["name"]: schema_errors(r["type"], r["inputs"]) for r in objects}
    assert {name: errors for name, errors in problems.items() if errors} == {}


def first(stack: str, kind: str) -> dict[str, Any]:
    resource = next(r for r in declared_objects(stack) if r["type"].endswith(f":{kind}"))
    return dict(resource)


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("Deployment", ["spec", "template", "spec", "containers", 0, "securityContext"]),
        ("Service", ["spec"]),
        ("Telemetry", ["spec", "tracing", 0]),
        ("Gateway", ["spec", "servers", 0, "tls"]),
        ("VirtualService", ["spec", "http", 0]),
        ("Certificate", ["spec"]),
        ("AuthorizationPolicy", ["spec", "rules", 0]),
    ],
)
def test_an_unknown_field_fails_validation(kind: str, path: list[Any]) -> None:
    resource = first("dev", kind)
    manifest = copy.deepcopy(resource["inputs"])
    node = manifest
    for step in path:
        node = node[step]
    node["notAField"] = True
    assert schema_errors(resource["type"], manifest), f"{kind}: an unknown field passed"
    assert not schema_errors(resource["type"], resource["inputs"])


def test_a_wrongly_typed_value_fails_validation() -> None:
    resource = first("dev", "Telemetry")
    manifest = copy.deepcopy(resource["inputs"])
    manifest["spec"]["tracing"][0]["randomSamplingPercentage"] = 101
    assert schema_errors(resource["type"], manifest)
