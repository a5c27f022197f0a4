"""The component provider for other languages: its schema, generated here by the SDK's analyzer exactly as the
plugin does, has the right types and docs for every public component; the plugin serves it; and the YAML
example program is valid against it."""

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from mesh_tracing import COMPONENTS
from mesh_tracing.tooling.schema import NAME, provider_schema
from tests.program import PROJECT_DIR

Schema = dict[str, Any]
YAML_PROGRAM = PROJECT_DIR / "examples" / "yaml-program" / "Pulumi.yaml"
SCHEMA = provider_schema()


def token(component: type) -> str:
    return f"{NAME}:index:{component.__name__}"


def referenced_type(schema: Schema, prop: dict[str, Any]) -> dict[str, Any] | None:
    ref = prop.get("$ref", "")
    if not ref.startswith("#/types/"):
        return None
    found: dict[str, Any] = schema["types"][ref.removeprefix("#/types/")]
    return found


def test_every_public_component_is_in_the_schema_under_its_type_token() -> None:
    assert set(SCHEMA["resources"]) == {token(c) for c in COMPONENTS}
    for component in COMPONENTS:
        resource = SCHEMA["resources"][token(component)]
        assert resource["isComponent"] is True
        assert resource["description"] == (component.__doc__ or "").strip()


def described(properties: dict[str, Any]) -> list[str]:
    return [name for name, prop in properties.items() if not (prop.get("description") or "").strip()]


def test_every_input_and_output_of_every_component_and_type_is_documented() -> None:
    for name, resource in SCHEMA["resources"].items():
        assert described(resource["inputProperties"]) == [], f"{name} inputs"
        assert described(resource["properties"]) == [], f"{name} outputs"
    for name, schema_type in SCHEMA["types"].items():
        assert (schema_type.get("description") or "").strip(), f"{name} has no description"
        assert described(schema_type.get("properties", {})) == [], name
        for value in schema_type.get("enum", []):
            assert (value.get("description") or "").strip(), f"{name}.{value['name']}"


def inputs(component: str) -> dict[str, Any]:
    properties: dict[str, Any] = SCHEMA["resources"][f"{NAME}:index:{component}"]["inputProperties"]
    return properties


@pytest.mark.parametrize(
    ("component", "prop", "expected"),
    [
        ("MeshTracing", "samplingPercentage", {"type": "number", "plain": True}),
        ("MeshTracing", "rootNamespace", {"type": "string"}),
        ("IngressGateway", "hosts", {"type": "array", "plain": True}),
        ("IngressGateway", "revision", {"type": "string"}),
        ("IngressGateway", "minReplicas", {"type": "integer", "plain": True}),
        ("Jaeger", "storagePassword", {"type": "string"}),
        ("IstioControlPlane", "createNamespace", {"type": "boolean", "plain": True}),
        (
            "IstioControlPlane",
            "extraValues",
            {"$ref": "#/types/mesh-tracing:index:IstioExtraValues", "plain": True},
        ),
    ],
)
def test_inputs_have_the_types_of_their_fields(component: str, prop: str, expected: dict[str, Any]) -> None:
    assert expected.items() <= inputs(component)[prop].items()


def test_inputs_with_defaults_are_optional_and_only_the_rest_required() -> None:
    required = {name: set(r.get("requiredInputs", [])) for name, r in SCHEMA["resources"].items()}
    assert required[token(COMPONENTS[0])] == {"tracing", "gateway"}
    assert required[f"{NAME}:index:IngressGateway"] == {"exposure", "hosts"}
    assert required[f"{NAME}:index:MeshTracing"] == {"samplingPercentage"}
    assert required[f"{NAME}:index:Jaeger"] == {"storage"}
    assert required[f"{NAME}:index:IstioControlPlane"] == set()


def test_choices_are_enums_with_their_values() -> None:
    exposure = referenced_type(SCHEMA, inputs("IngressGateway")["exposure"])
    assert exposure is not None and [e["value"] for e in exposure["enum"]] == [
        "cluster",
        "nodeport",
        "internal",
        "public",
    ]
    storage = referenced_type(SCHEMA, inputs("Jaeger")["storage"])
    assert storage is not None and storage["required"] == ["kind"]
    kind = referenced_type(SCHEMA, storage["properties"]["kind"])
    assert kind is not None and [e["value"] for e in kind["enum"]] == [
        "memory",
        "badger",
        "elasticsearch",
        "opensearch",
        "cassandra",
    ]


def test_outputs_are_typed_attributes() -> None:
    outputs = SCHEMA["resources"][f"{NAME}:index:Jaeger"]["properties"]
    assert outputs["queryPort"]["type"] == "integer"
    assert outputs["otlpGrpcEndpoint"]["type"] == "string"
    traced = SCHEMA["resources"][token(COMPONENTS[0])]
    labels = traced["properties"]["injectionLabels"]
    assert (labels["type"], labels["additionalProperties"]["type"]) == ("object", "string")
    assert "jaegerUi" not in traced.get("required", []), "set only when Jaeger runs"


def test_the_plugin_serves_this_schema(tmp_path: Path) -> None:
    """Runs provider/__main__.py as Pulumi runs a plugin, and asks it for its schema over gRPC."""
    env = {"PYTHONPATH": str(PROJECT_DIR), "PATH": str(Path(sys.executable).parent)}
    plugin = subprocess.Popen(
        [sys.executable, "__main__.py", "127.0.0.1:1"],
        cwd=PROJECT_DIR / "provider",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            response = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=20)
        assert json.loads(response.schema) == SCHEMA
    finally:
        plugin.kill()
        plugin.wait(timeout=10)


# -- the YAML example program, checked against the schema ---------------------------------------------

REFERENCE = re.compile(r"^\$\{([^}.]+)(?:\.([^}]+))?\}$")


def value_problems(schema: Schema, value: Any, prop: dict[str, Any], path: str) -> list[str]:
    if isinstance(value, str) and REFERENCE.match(value):
        return []  # checked with the references
    if prop.get("$ref") == "pulumi.json#/Any":
        return []
    schema_type = referenced_type(schema, prop)
    if schema_type is not None:
        if "enum" in schema_type:
            allowed = [e["value"] for e in schema_type["enum"]]
            return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
        return object_problems(
            schema, value, schema_type.get("properties", {}), schema_type.get("required", []), path
        )
    kind = str(prop.get("type"))
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if not checks[kind](value):
        return [f"{path}: {value!r} is not a {kind}"]
    if kind == "array":
        return [
            p
            for i, item in enumerate(value)
            for p in value_problems(schema, item, prop["items"], f"{path}[{i}]")
        ]
    if kind == "object" and "additionalProperties" in prop:
        return [
            p
            for k, v in value.items()
            for p in value_problems(schema, v, prop["additionalProperties"], f"{path}.{k}")
        ]
    return []


def object_problems(
    schema: Schema, value: Any, properties: dict[str, Any], required: list[str], path: str
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: {value!r} is not an object"]
    problems = [f"{path}.{key}: no such property" for key in value if key not in properties]
    problems += [f"{path}.{key}: required" for key in required if key not in value]
    for key, item in value.items():
        if key in properties:
            problems += value_problems(schema, item, properties[key], f"{path}.{key}")
    return problems


def references(node: Any) -> list[tuple[str, str | None]]:
    if isinstance(node, str):
        match = REFERENCE.match(node)
        return [(match.group(1), match.group(2))] if match else []
    if isinstance(node, dict):
        return [r for v in node.values() for r in references(v)]
    if isinstance(node, list):
        return [r for v in node for r in references(v)]
    return []


def program_problems(program: dict[str, Any], schema: Schema) -> list[str]:
    problems = []
    resources = program.get("resources", {})
    for name, resource in resources.items():
        definition = schema["resources"].get(resource["type"])
        if definition is None:
            problems.append(f"{name}: no resource type {resource['type']}")
            continue
        problems += object_problems(
            schema,
            resource.get("properties", {}),
            definition["inputProperties"],
            definition.get("requiredInputs", []),
            name,
        )
    for target, output in references(
        [r.get("properties", {}) for r in resources.values()] + [program.get("outputs", {})]
    ):
        if target in program.get("config", {}):
            continue
        if target not in resources:
            problems.append(f"${{{target}}}: no such resource or config")
        elif output is not None:
            outputs = schema["resources"].get(resources[target]["type"], {}).get("properties", {})
            if output not in outputs:
                problems.append(f"${{{target}.{output}}}: {resources[target]['type']} has no output {output}")
    return problems


def test_the_yaml_example_program_is_valid_against_the_schema() -> None:
    program = yaml.safe_load(YAML_PROGRAM.read_text())
    assert program["packages"] == {NAME: "../../provider"}
    assert (YAML_PROGRAM.parent / program["packages"][NAME] / "PulumiPlugin.yaml").exists()
    assert program_problems(program, SCHEMA) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda p: p["resources"]["mesh"]["properties"]["tracing"].update(samplingPercentag=5),
            "mesh.tracing.samplingPercentag: no such property",
        ),
        (
            lambda p: p["resources"]["mesh"]["properties"]["gateway"].update(exposure="moon"),
            "mesh.gateway.exposure: 'moon' is not one of",
        ),
        (
            lambda p: p["resources"]["mesh"]["properties"]["gateway"].pop("hosts"),
            "mesh.gateway.hosts: required",
        ),
        (
            lambda p: p["outputs"].update(x="${mesh.jaegerUrl}"),
            "${mesh.jaegerUrl}: mesh-tracing:index:TracedMesh has no output jaegerUrl",
        ),
        (
            lambda p: p["resources"]["mesh"]["properties"]["istio"]["istiod"].update(minReplicas="two"),
            "mesh.istio.istiod.minReplicas: 'two' is not a integer",
        ),
    ],
)
def test_the_check_catches_a_broken_program(change: Any, problem: str) -> None:
    program = copy.deepcopy(yaml.safe_load(YAML_PROGRAM.read_text()))
    change(program)
    assert any(p.startswith(problem) for p in program_problems(program, SCHEMA)), program_problems(
        program, SCHEMA
    )
