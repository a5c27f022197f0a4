"""The Jaeger UI on a gateway host, on its own: the route, the allowlist, and what it refuses."""

from typing import Any

import pulumi
import pytest

from mesh_tracing import JaegerUi, JaegerUiAccess, JaegerUiArgs, SpecError
from mesh_tracing.tooling.recorder import record, record_expecting_error


def test_it_routes_the_host_to_the_query_service_and_denies_sources_outside_the_allowlist() -> None:
    def program() -> None:
        istiod = pulumi.CustomResource("test:index:Istiod", "istiod")
        spec = JaegerUiArgs(
            access=JaegerUiAccess.GATEWAY,
            host="jaeger.example.com",
            allowed_source_ranges=["10.0.0.0/8"],
            gateway="edge/public",
            gateway_namespace="edge",
            gateway_selector={"istio": "public"},
            query_host="query.observability.svc.cluster.local",
            query_port=16686,
        )
        JaegerUi("ui", spec, pulumi.ResourceOptions(depends_on=[istiod]))

    run = record(program)
    route = run.named("ui-route")
    assert route.at("metadata", "namespace") == "edge"
    assert route.at("spec") == {
        "hosts": ["jaeger.example.com"],
        "gateways": ["edge/public"],
        "http": [
            {
                "route": [
                    {
                        "destination": {
                            "host": "query.observability.svc.cluster.local",
                            "port": {"number": 16686},
                        }
                    }
                ]
            }
        ],
    }
    policy = run.named("ui-allowlist").at("spec")
    assert policy["selector"] == {"matchLabels": {"istio": "public"}}
    assert policy["rules"][0]["from"] == [{"source": {"notRemoteIpBlocks": ["10.0.0.0/8"]}}]
    assert run.waits_for(route, run.named("istiod"))


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            {"host": "jaeger.example.com"},
            "allowed_source_ranges: got []; allowed: at least one CIDR: Jaeger has no authentication of its own",
        ),
        (
            {"allowed_source_ranges": ["10.0.0.0/8"]},
            "host: got (not set); allowed: the host name the UI is served on",
        ),
        (
            {"host": "jaeger.example.com", "allowed_source_ranges": ["10.0.0.300/8"]},
            "allowed_source_ranges.0: got \"10.0.0.300/8\"; allowed: '10.0.0.300/8' does not appear to be an IPv4 or IPv6 network",
        ),
    ],
)
def test_invalid_args_are_refused_before_anything_is_registered(args: dict[str, Any], problem: str) -> None:
    spec = {"access": JaegerUiAccess.GATEWAY, **args}
    error, registered = record_expecting_error(lambda: JaegerUi("ui", spec))  # type: ignore[arg-type]
    assert isinstance(error, SpecError) and registered == []
    assert [p.describe() for p in error.problems] == [problem]
