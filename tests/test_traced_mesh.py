"""The composite from a hand-written spec, as a platform stack uses it: the wiring between the parts, its typed
outputs, the parts' continuity with stacks made before it, and the rules that span parts."""

from typing import Any

import pulumi
import pytest

from mesh_tracing import (
    BookinfoArgs,
    ExposureMode,
    IngressGatewayArgs,
    JaegerArgs,
    JaegerStorage,
    LoadGeneratorArgs,
    MeshTracingArgs,
    SpecError,
    StorageKind,
    TracedMesh,
    TracedMeshArgs,
    TracingBackend,
    TracingBackendKind,
)
from mesh_tracing.tooling.recorder import Run, record, record_expecting_error

MEMORY = JaegerArgs(storage=JaegerStorage(kind=StorageKind.MEMORY), namespace="observability")


def mesh_spec(**parts: Any) -> TracedMeshArgs:
    spec: dict[str, Any] = {
        "environment": "qa",
        "tracing": MeshTracingArgs(sampling_percentage=20),
        "gateway": IngressGatewayArgs(exposure=ExposureMode.CLUSTER, hosts=["shop.qa.example.com"]),
        "jaeger": MEMORY,
        **parts,
    }
    return TracedMeshArgs(**spec)


def build(spec: TracedMeshArgs) -> Run:
    def program() -> None:
        mesh = TracedMesh("platform", spec)
        for name, value in mesh.outputs().items():
            pulumi.export(name, value)

    return record(program)


def test_a_platform_stack_gets_the_whole_traced_mesh_and_reads_typed_outputs() -> None:
    bookinfo = BookinfoArgs(
        enabled=True, load_generator=LoadGeneratorArgs(enabled=True, requests_per_second=3)
    )
    run = build(mesh_spec(bookinfo=bookinfo))
    assert run.output("jaegerOtlpGrpcEndpoint") == "jaeger-collector.observability.svc.cluster.local:4317"
    (provider,) = run.named("istio-istiod").at("values", "meshConfig", "extensionProviders")
    assert provider == {
        "name": "jaeger",
        "opentelemetry": {"service": "jaeger-collector.observability.svc.cluster.local", "port": 4317},
    }
    (rule,) = run.named("tracing-mesh-default").at("spec", "tracing")
    assert rule["providers"] == [{"name": provider["name"]}] and rule["randomSamplingPercentage"] == 20
    assert rule["customTags"] == {"environment": {"literal": {"value": "qa"}}}
    assert run.output("istioRevision") == "1-30-3"
    assert run.named("ingress-chart").at("values", "revision") == "stable"
    assert run.named("ingress-chart").at("values", "podAnnotations") == {
        "mesh-tracing/sidecar-revision": "1-30-3"
    }
    route = run.named("bookinfo-productpage-route").at("spec")
    assert route["hosts"] == ["shop.qa.example.com"] and route["gateways"] == [
        "istio-ingress/istio-ingressgateway"
    ]
    command = run.named("loadgen-deployment").at("spec", "template", "spec", "containers")[0]["command"]
    assert command[-1] == "http://shop.qa.example.com/productpage"
    assert run.output("jaegerSearch") == "http://localhost:16686/search?service=productpage.bookinfo"


def test_parts_keep_the_names_and_urns_they_had_at_the_stack_root() -> None:
    run = build(mesh_spec())
    composite = run.one("mesh-tracing:index:TracedMesh")
    parts = {r.name: r for r in run.resources if r.parent == composite.urn}
    assert set(parts) == {"istio", "jaeger", "tracing", "ingress"}
    for part in parts.values():
        # The alias is the URN the part had as a child of the stack: a stack made before TracedMesh adopts it.
        assert part.aliases == [{"noParent": True}], part.name


def test_an_existing_backend_needs_no_in_cluster_jaeger() -> None:
    backend = TracingBackend(kind=TracingBackendKind.ZIPKIN, service="zipkin.example.com")
    run = build(mesh_spec(tracing=MeshTracingArgs(sampling_percentage=1, backend=backend), jaeger=None))
    assert not run.of_type("mesh-tracing:index:Jaeger")
    assert run.named("istio-istiod").at("values", "meshConfig", "extensionProviders") == [
        {"name": "zipkin", "zipkin": {"service": "zipkin.example.com", "port": 9411}}
    ]
    assert run.named("tracing-backend-entry").at("spec", "hosts") == ["zipkin.example.com"]
    assert "jaegerStorage" not in run.outputs and "jaegerUi" not in run.outputs


def test_an_existing_jaeger_collector_can_be_the_backend() -> None:
    backend = TracingBackend(service="collector.jaeger.svc.cluster.local")
    run = build(mesh_spec(tracing=MeshTracingArgs(sampling_percentage=1, backend=backend), jaeger=None))
    assert run.named("istio-istiod").at("values", "meshConfig", "extensionProviders") == [
        {"name": "jaeger", "opentelemetry": {"service": "collector.jaeger.svc.cluster.local", "port": 4317}}
    ]
    assert not run.of_type("kubernetes:networking.istio.io/v1:ServiceEntry"), "in the cluster: no egress"


@pytest.mark.parametrize(
    ("parts", "problem"),
    [
        (
            {"jaeger": None},
            "jaeger: got (not set); allowed: the Jaeger to run while tracing.backend.kind is jaeger (or tracing.backend.service)",
        ),
        (
            {"jaeger": MEMORY.model_copy(update={"enabled": False})},
            "jaeger.enabled: got false; allowed: true while tracing.backend.kind is jaeger (the provider's target)",
        ),
        (
            {
                "tracing": MeshTracingArgs(
                    sampling_percentage=1, backend=TracingBackend(service="other.example.com")
                )
            },
            'tracing.backend.service: got "other.example.com"; allowed: unset while the in-cluster Jaeger is the backend',
        ),
        (
            {"bookinfo": BookinfoArgs(enabled=True, host="elsewhere.example.com")},
            'bookinfo.host: got "elsewhere.example.com"; allowed: one of gateway.hosts (shop.qa.example.com)',
        ),
    ],
)
def test_rules_that_span_parts_are_refused_before_anything_is_registered(
    parts: dict[str, Any], problem: str
) -> None:
    spec = {
        "tracing": MeshTracingArgs(sampling_percentage=20),
        "gateway": IngressGatewayArgs(exposure=ExposureMode.CLUSTER, hosts=["shop.qa.example.com"]),
        "jaeger": MEMORY,
        **parts,
    }
    error, registered = record_expecting_error(lambda: TracedMesh("platform", spec))  # type: ignore[arg-type]
    assert isinstance(error, SpecError) and registered == []
    assert [p.describe() for p in error.problems] == [problem]
