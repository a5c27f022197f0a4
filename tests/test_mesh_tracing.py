"""Mesh tracing: the provider wired from Jaeger's outputs, sampling through the Telemetry API only, and
the external backends."""

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from mesh_tracing import (
    CustomTag,
    MeshTracing,
    MeshTracingArgs,
    SpecError,
    TracingBackend,
    TracingBackendKind,
)
from mesh_tracing.tooling.recorder import Run, Secret, record, record_expecting_error
from tests.program import run_program

TELEMETRY = "kubernetes:telemetry.istio.io/v1:Telemetry"


def providers(run: Run) -> list[dict[str, Any]]:
    providers: list[dict[str, Any]] = run.named("istio-istiod").at(
        "values", "meshConfig", "extensionProviders"
    )
    return providers


def mesh_telemetry(run: Run) -> dict[str, Any]:
    return run.named("tracing-mesh-default").inputs


def test_the_provider_points_at_the_collector_service_by_name_namespace_and_port(
    rendered: Callable[[str], Run],
) -> None:
    run = rendered("dev")
    service = run.named("jaeger-collector-service")
    (provider,) = providers(run)
    grpc_port = next(p["port"] for p in service.at("spec", "ports") if p["appProtocol"] == "grpc")
    expected_host = (
        f"{service.at('metadata', 'name')}.{service.at('metadata', 'namespace')}.svc.cluster.local"
    )
    assert provider["opentelemetry"] == {"service": expected_host, "port": grpc_port}
    assert provider["name"] == run.output("tracingProvider")


@pytest.mark.parametrize(("stack", "sampling"), [("dev", 100), ("staging", 10), ("prod", 1)])
def test_a_mesh_wide_telemetry_samples_at_the_stack_rate(
    stack: str, sampling: float, rendered: Callable[[str], Run]
) -> None:
    run = rendered(stack)
    telemetry = mesh_telemetry(run)
    assert telemetry["apiVersion"] == "telemetry.istio.io/v1"
    assert telemetry["metadata"]["namespace"] == "istio-system"  # the mesh root namespace
    assert "selector" not in telemetry["spec"] and "targetRefs" not in telemetry["spec"]
    (rule,) = telemetry["spec"]["tracing"]
    assert rule["randomSamplingPercentage"] == sampling
    assert rule["providers"] == [{"name": providers(run)[0]["name"]}]


def test_sampling_is_not_set_through_proxy_config(stack_run: tuple[str, Run]) -> None:
    _, run = stack_run
    mesh_config = run.named("istio-istiod").at("values", "meshConfig")
    assert "defaultConfig" not in mesh_config
    assert "traceSampling" not in run.named("istio-istiod").at("values")


def inputs_by_urn(run: Run) -> dict[str, Any]:
    return {r.urn: r.inputs for r in run.resources}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_changing_the_sampling_rate_changes_exactly_the_telemetry(stack: str) -> None:
    before = inputs_by_urn(run_program(stack))
    after = inputs_by_urn(run_program(stack, overrides={"tracing.samplingPercentage": 7.5}))
    assert before.keys() == after.keys()
    changed = [urn.rsplit("::", 1)[-1] for urn in before if before[urn] != after[urn]]
    assert changed == ["tracing-mesh-default"]


def test_spans_carry_the_environment_and_the_configured_tags(rendered: Callable[[str], Run]) -> None:
    run = run_program(
        "staging",
        overrides={
            "tracing.customTags": {
                "team": {"literal": "payments"},
                "user_agent": {"header": "user-agent", "defaultValue": "unknown"},
                "node": {"environment": "NODE_NAME"},
            }
        },
    )
    (rule,) = mesh_telemetry(run)["spec"]["tracing"]
    assert rule["customTags"] == {
        "environment": {"literal": {"value": "staging"}},
        "team": {"literal": {"value": "payments"}},
        "user_agent": {"header": {"name": "user-agent", "defaultValue": "unknown"}},
        "node": {"environment": {"name": "NODE_NAME"}},
    }
    (default_rule,) = mesh_telemetry(rendered("prod"))["spec"]["tracing"]
    assert default_rule["customTags"] == {"environment": {"literal": {"value": "prod"}}}


def test_the_environment_tag_can_be_turned_off() -> None:
    (rule,) = mesh_telemetry(run_program("dev", overrides={"tracing.environmentTag": False}))["spec"][
        "tracing"
    ]
    assert "customTags" not in rule


def test_a_namespace_override_gets_its_own_telemetry_after_the_mesh_default() -> None:
    run = run_program(
        "dev", overrides={"tracing.namespaceOverrides": [{"namespace": "payments", "samplingPercentage": 50}]}
    )
    override = run.named("tracing-sampling-payments")
    assert override.at("metadata", "namespace") == "payments"
    assert override.at("spec", "tracing") == [
        {"providers": [{"name": "jaeger"}], "randomSamplingPercentage": 50}
    ]
    assert run.waits_for(override, run.named("tracing-mesh-default"))


def test_the_telemetry_waits_for_the_crds_and_a_ready_istiod(rendered: Callable[[str], Run]) -> None:
    run = rendered("dev")
    telemetry = run.named("tracing-mesh-default")
    assert run.waits_for(telemetry, run.named("istio-base"))
    assert run.waits_for(telemetry, run.named("istio-istiod"))


def test_jaeger_can_be_fed_over_zipkin_instead() -> None:
    run = run_program("dev", overrides={"tracing.backend.protocol": "zipkin"})
    (provider,) = providers(run)
    assert provider["zipkin"] == {"service": "jaeger-collector.tracing.svc.cluster.local", "port": 9411}
    assert mesh_telemetry(run)["spec"]["tracing"][0]["providers"] == [{"name": provider["name"]}]


def test_an_external_otlp_backend_gets_its_token_from_a_secret_and_egress_with_tls() -> None:
    run = run_program(
        "staging",
        overrides={
            "tracing.backend": {
                "kind": "otlp",
                "service": "ingest.tracing-saas.example.com",
                "port": 443,
                "transport": "http",
                "path": "/traces/otlp/v1",
                "tokenHeader": "x-access-token",
            }
        },
        secrets={"tracingBackendToken": "tok-123"},
    )
    assert not run.of_type("mesh-tracing:index:Jaeger"), "the in-cluster Jaeger should be off"
    (provider,) = providers(run)
    assert provider["opentelemetry"]["service"] == "ingest.tracing-saas.example.com"
    assert provider["opentelemetry"]["http"]["headers"] == [
        {"name": "x-access-token", "envName": "TRACING_BACKEND_TOKEN"}
    ]
    istiod_values = run.named("istio-istiod").at("values")
    (env,) = istiod_values["envVarFrom"]
    secret = run.named("istio-istiod-env")
    assert env["valueFrom"]["secretKeyRef"] == {
        "name": secret.at("metadata", "name"),
        "key": "TRACING_BACKEND_TOKEN",
    }
    assert secret.at("stringData") == Secret({"TRACING_BACKEND_TOKEN": "tok-123"})
    assert "tok-123" not in repr(istiod_values)
    entry = run.named("tracing-backend-entry")
    assert entry.at("spec", "hosts") == ["ingest.tracing-saas.example.com"]
    assert entry.at("spec", "location") == "MESH_EXTERNAL"
    tls = run.named("tracing-backend-tls").at("spec", "trafficPolicy", "portLevelSettings")
    assert tls == [
        {"port": {"number": 443}, "tls": {"mode": "SIMPLE", "sni": "ingest.tracing-saas.example.com"}}
    ]
    assert run.waits_for(run.named("tracing-mesh-default"), entry)


def test_a_datadog_agent_in_the_cluster_needs_no_egress() -> None:
    run = run_program(
        "dev",
        overrides={
            "tracing.backend": {"kind": "datadog", "service": "datadog-agent.datadog.svc.cluster.local"},
            "gateway.jaegerUi.access": "none",  # no in-cluster Jaeger, so no UI to route to
        },
    )
    (provider,) = providers(run)
    assert provider == {
        "name": "datadog",
        "datadog": {"service": "datadog-agent.datadog.svc.cluster.local", "port": 8126},
    }
    assert not run.of_type("kubernetes:networking.istio.io/v1:ServiceEntry")
    assert mesh_telemetry(run)["spec"]["tracing"][0]["providers"] == [{"name": "datadog"}]


def test_an_external_zipkin_collector_is_reached_through_a_service_entry() -> None:
    run = run_program(
        "dev",
        overrides={
            "tracing.backend": {"kind": "zipkin", "service": "zipkin.example.com"},
            "gateway.jaegerUi.access": "none",
        },
    )
    (provider,) = providers(run)
    assert provider["zipkin"] == {"service": "zipkin.example.com", "port": 9411}
    assert run.named("tracing-backend-entry").at("spec", "ports")[0]["number"] == 9411
    assert "tracing-backend-tls" not in [r.name for r in run.resources], "no TLS origination without tls"


def test_jaeger_can_run_beside_an_external_backend_when_asked() -> None:
    run = run_program(
        "dev",
        overrides={
            "tracing.backend": {"kind": "zipkin", "service": "zipkin.example.com"},
            "jaeger.enabled": True,
        },
    )
    assert run.of_type("mesh-tracing:index:Jaeger")
    assert providers(run)[0]["name"] == "zipkin"


def test_alone_it_points_the_mesh_at_an_existing_provider_after_what_it_depends_on() -> None:
    def program() -> None:
        istiod = pulumi.CustomResource("test:index:Istiod", "istiod")
        MeshTracing(
            "tracing",
            MeshTracingArgs(
                sampling_percentage=5,
                backend=TracingBackend(name="otel-collector"),
                custom_tags={"team": CustomTag(literal="payments")},
                root_namespace="mesh-root",
            ),
            pulumi.ResourceOptions(depends_on=[istiod]),
        )

    run = record(program)
    telemetry = run.named("tracing-mesh-default")
    assert telemetry.at("metadata") == {"name": "mesh-default", "namespace": "mesh-root"}
    assert telemetry.at("spec", "tracing") == [
        {
            "providers": [{"name": "otel-collector"}],
            "randomSamplingPercentage": 5,
            "customTags": {"team": {"literal": {"value": "payments"}}},
        }
    ]
    assert run.waits_for(telemetry, run.named("istiod"))
    assert not run.of_type("kubernetes:networking.istio.io/v1:ServiceEntry"), (
        "an in-cluster provider needs no egress"
    )


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"sampling_percentage": 150}, "sampling_percentage: got 150; allowed: less than or equal to 100"),
        (
            {
                "sampling_percentage": 1,
                "backend": {"kind": TracingBackendKind.OTLP, "service": "otlp.example.com"},
            },
            "backend.port: got (not set); allowed: the OTLP port of the backend, e.g. 4317 or 443",
        ),
        (
            {
                "sampling_percentage": 1,
                "namespace_overrides": [{"namespace": "a", "sampling_percentage": 1}] * 2,
            },
            'namespace_overrides.1.namespace: got "a"; allowed: each namespace once',
        ),
    ],
)
def test_invalid_args_are_refused_before_anything_is_registered(args: dict[str, Any], problem: str) -> None:
    error, registered = record_expecting_error(lambda: MeshTracing("tracing", args))  # type: ignore[arg-type]
    assert isinstance(error, SpecError) and registered == []
    assert [p.describe() for p in error.problems] == [problem]
