"""Bookinfo in the mesh and the load generator: labels, selectors, subsets, routing, ordering, outputs."""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest

from mesh_tracing import Bookinfo, BookinfoArgs, LoadGenerator, LoadGeneratorArgs, SpecError
from mesh_tracing.tooling.recorder import LIVE_CLUSTER_IP, Res, Run, record, record_expecting_error
from tests.program import UIS_OFF_THE_GATEWAY, run_program

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
WORKLOADS = ["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"]


def bookinfo_deployments(run: Run) -> dict[str, Res]:
    component = run.one("mesh-tracing:index:Bookinfo")
    return {r.at("metadata", "name"): r for r in run.descendants(component) if r.type == DEPLOYMENT}


def spec_named(run: Run, kind: str, name: str) -> dict[str, Any]:
    (resource,) = [
        r
        for r in run.of_type(f"kubernetes:networking.istio.io/v1:{kind}")
        if r.at("metadata", "name") == name
    ]
    spec: dict[str, Any] = resource.at("spec")
    return spec


def test_six_workloads_run_in_a_namespace_with_the_control_planes_injection_label(
    rendered: Callable[[str], Run],
) -> None:
    run = rendered("dev")
    deployments = bookinfo_deployments(run)
    assert sorted(deployments) == WORKLOADS
    namespace = run.named("bookinfo-namespace")
    assert namespace.at("metadata", "labels") == run.output("injectionLabels") == {"istio.io/rev": "stable"}
    for name, deployment in deployments.items():
        assert deployment.at("metadata", "namespace") == namespace.at("metadata", "name"), name
        labels = deployment.at("spec", "template", "metadata", "labels")
        app, version = name.rsplit("-", 1)
        assert (labels["app"], labels["version"]) == (app, version)
        container = deployment.at("spec", "template", "spec", "containers")[0]
        assert container["image"] == f"registry.istio.io/release/examples-bookinfo-{app}-{version}:1.20.3"
        assert container["ports"][0]["containerPort"] == 9080


def test_each_service_selects_its_deployments_pods(rendered: Callable[[str], Run]) -> None:
    run = rendered("dev")
    deployments = bookinfo_deployments(run)
    services = {
        r.at("metadata", "name"): r
        for r in run.of_type("kubernetes:core/v1:Service")
        if r.name.startswith("bookinfo-")
    }
    assert sorted(services) == ["details", "productpage", "ratings", "reviews"]
    for service_name, service in services.items():
        selected = [
            name
            for name, deployment in deployments.items()
            if service.at("spec", "selector").items()
            <= deployment.at("spec", "template", "metadata", "labels").items()
        ]
        assert selected and all(name.startswith(f"{service_name}-") for name in selected), service_name
        assert service.at("spec", "ports") == [
            {"name": "http", "port": 9080, "targetPort": 9080, "protocol": "TCP"}
        ]
    assert len([name for name in deployments if name.startswith("reviews-")]) == 3


def test_destination_rule_subsets_match_the_version_labels(rendered: Callable[[str], Run]) -> None:
    run = rendered("dev")
    deployments = bookinfo_deployments(run)
    for app in ("details", "productpage", "ratings", "reviews"):
        rule = spec_named(run, "DestinationRule", app)
        assert rule["host"] == app
        for subset in rule["subsets"]:
            matching = [
                name
                for name, d in deployments.items()
                if name.startswith(f"{app}-")
                and subset["labels"].items() <= d.at("spec", "template", "metadata", "labels").items()
            ]
            assert matching == [f"{app}-{subset['name']}"], subset


def reviews_weights(run: Run) -> dict[str, int]:
    (route,) = spec_named(run, "VirtualService", "reviews")["http"]
    return {r["destination"]["subset"]: r["weight"] for r in route["route"]}


def test_reviews_traffic_is_spread_evenly_by_default(rendered: Callable[[str], Run]) -> None:
    weights = reviews_weights(rendered("dev"))
    assert weights == {"v1": 34, "v2": 33, "v3": 33}
    assert sum(weights.values()) == 100


def test_reviews_weights_follow_the_stack_config() -> None:
    run = run_program("staging", overrides={"bookinfo.reviewsWeights": {"v1": 80, "v3": 20}})
    assert reviews_weights(run) == {"v1": 80, "v2": 0, "v3": 20}


def test_the_product_page_route_binds_the_gateway_that_exists(stack_run: tuple[str, Run]) -> None:
    stack, run = stack_run
    if stack == "prod":
        assert not run.of_type("mesh-tracing:index:Bookinfo")
        return
    route = spec_named(run, "VirtualService", "productpage-gateway")
    gateway = run.named("ingress-gateway")
    assert route["gateways"] == [f"{gateway.at('metadata', 'namespace')}/{gateway.at('metadata', 'name')}"]
    (server,) = gateway.at("spec", "servers")
    assert route["hosts"][0] in server["hosts"]
    assert {"uri": {"exact": "/productpage"}} in route["http"][0]["match"]
    assert route["http"][0]["route"][0]["destination"] == {
        "host": "productpage",
        "subset": "v1",
        "port": {"number": 9080},
    }


def test_meshed_workloads_start_after_istiod_and_the_telemetry(rendered: Callable[[str], Run]) -> None:
    run = rendered("dev")
    istiod, telemetry = run.named("istio-istiod"), run.named("tracing-mesh-default")
    for name, deployment in bookinfo_deployments(run).items():
        assert run.waits_for(deployment, istiod), name
        assert run.waits_for(deployment, telemetry), name


def test_bookinfo_pods_are_hardened_as_far_as_the_images_allow(rendered: Callable[[str], Run]) -> None:
    for name, deployment in bookinfo_deployments(rendered("dev")).items():
        pod = deployment.at("spec", "template", "spec")
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = pod["containers"]
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["capabilities"] == {"drop": ["ALL"]}
        assert security["readOnlyRootFilesystem"] is (not name.startswith("reviews-")), name
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def loadgen(run: Run) -> dict[str, Any]:
    pod: dict[str, Any] = run.named("loadgen-deployment").at("spec", "template")
    return pod


def test_the_load_generator_goes_through_the_gateway_to_a_host_it_serves(
    rendered: Callable[[str], Run],
) -> None:
    run = rendered("dev")
    pod = loadgen(run)
    (container,) = pod["spec"]["containers"]
    url = container["command"][-1]
    assert url == "https://bookinfo.localtest.me/productpage"
    (server,) = run.named("ingress-gateway").at("spec", "servers")
    assert urlparse(url).hostname in server["hosts"]
    # The host resolves to the gateway Service, read from the cluster after the chart created it.
    assert pod["spec"]["hostAliases"] == [{"ip": LIVE_CLUSTER_IP, "hostnames": ["bookinfo.localtest.me"]}]
    assert run.waits_for(run.named("loadgen-deployment"), run.named("ingress-service"))
    assert pod["metadata"]["labels"]["sidecar.istio.io/inject"] == "false", (
        "an outside client starts traces at the edge"
    )
    assert container["command"][container["command"].index("-qps") + 1] == "2.0"


def test_without_a_gateway_host_the_load_generator_calls_the_product_page_in_the_mesh() -> None:
    run = run_program(
        "dev",
        overrides={"gateway.hosts": ["*"], "gateway.tls.mode": "none", **UIS_OFF_THE_GATEWAY},
    )
    pod = loadgen(run)
    url = pod["spec"]["containers"][0]["command"][-1]
    service = run.named("bookinfo-productpage")
    assert urlparse(url).hostname == f"{service.at('metadata', 'name')}.bookinfo.svc.cluster.local"
    assert urlparse(url).port == service.at("spec", "ports")[0]["port"]
    assert "hostAliases" not in pod["spec"]
    assert "sidecar.istio.io/inject" not in pod["metadata"]["labels"], "in the mesh it gets a sidecar"


def test_the_load_generator_is_hardened_and_pinned(rendered: Callable[[str], Run]) -> None:
    pod = loadgen(rendered("dev"))["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "docker.io/fortio/fortio:1.63.2"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"]["cpu"] == "200m"


@pytest.mark.parametrize(
    ("stack", "bookinfo", "load"), [("dev", True, True), ("staging", True, False), ("prod", False, False)]
)
def test_each_stack_runs_the_sample_apps_it_should(
    stack: str, bookinfo: bool, load: bool, rendered: Callable[[str], Run]
) -> None:
    run = rendered(stack)
    assert bool(run.of_type("mesh-tracing:index:Bookinfo")) is bookinfo
    assert bool(run.of_type("mesh-tracing:index:LoadGenerator")) is load


def test_prod_may_run_bookinfo_when_enabled_explicitly() -> None:
    run = run_program("prod", overrides={"bookinfo.enabled": True})
    assert sorted(bookinfo_deployments(run)) == WORKLOADS
    assert run.output("productPageUrl") == "https://bookinfo.example.com/productpage"


def test_outputs_point_at_the_product_page_and_its_traces(rendered: Callable[[str], Run]) -> None:
    run = rendered("dev")
    assert run.output("productPageUrl") == "https://bookinfo.localtest.me:8443/productpage"
    assert run.output("bookinfoNamespace") == "bookinfo"
    assert run.output("jaegerServiceName") == "productpage.bookinfo"
    assert (
        run.output("jaegerSearch") == "https://jaeger.localtest.me:8443/search?service=productpage.bookinfo"
    )
    staging = rendered("staging")
    assert staging.output("jaegerSearch") == "http://localhost:16686/search?service=productpage.bookinfo"


def test_alone_it_runs_in_the_default_revision_on_any_host_of_a_given_gateway() -> None:
    run = record(lambda: Bookinfo("shop", BookinfoArgs(gateway="edge/public", namespace="shop")))
    assert run.named("shop-namespace").at("metadata") == {
        "name": "shop",
        "labels": {"istio-injection": "enabled"},
    }
    route = next(
        r
        for r in run.of_type("kubernetes:networking.istio.io/v1:VirtualService")
        if r.name == "shop-productpage-route"
    )
    assert route.at("spec", "hosts") == ["*"] and route.at("spec", "gateways") == ["edge/public"]
    assert not run.of_type(POLICY), "no default deny unless asked"


def test_default_deny_admits_exactly_the_given_product_page_clients() -> None:
    client = "cluster.local/ns/edge/sa/public"
    run = record(lambda: Bookinfo("shop", BookinfoArgs(default_deny=True, product_page_clients=[client])))
    allow = next(r for r in run.of_type(POLICY) if r.name == "shop-allow-productpage").at("spec")
    assert allow["rules"][0]["from"] == [{"source": {"principals": [client]}}]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            {"reviews_weights": {"v1": 50, "v2": 30, "v3": 30}},
            'reviews_weights: got {"v1": 50, "v2": 30, "v3": 30}; allowed: weights summing to 100 (they sum to 110)',
        ),
        (
            {"reviews_weights": {"v1": 50, "v4": 50}},
            'reviews_weights.v4: got "v4"; allowed: one of v1, v2, v3',
        ),
        (
            {"load_generator": {"enabled": True}},
            "load_generator.enabled: got true; allowed: false while enabled is false (nothing to call)",
        ),
    ],
)
def test_invalid_args_are_refused_before_anything_is_registered(args: dict[str, Any], problem: str) -> None:
    error, registered = record_expecting_error(lambda: Bookinfo("shop", args))  # type: ignore[arg-type]
    assert isinstance(error, SpecError) and registered == []
    assert [p.describe() for p in error.problems] == [problem]


def test_the_load_generator_alone_calls_its_url_from_inside_the_mesh() -> None:
    spec = LoadGeneratorArgs(
        namespace="shop", target_url="http://productpage.shop:9080/productpage", requests_per_second=5
    )
    run = record(lambda: LoadGenerator("load", spec))
    pod = run.named("load-deployment").at("spec", "template")
    command = pod["spec"]["containers"][0]["command"]
    assert command[-1] == "http://productpage.shop:9080/productpage"
    assert command[command.index("-qps") + 1] == "5.0"
    assert "hostAliases" not in pod["spec"] and "sidecar.istio.io/inject" not in pod["metadata"]["labels"]


def test_the_load_generator_refuses_to_run_without_a_url() -> None:
    error, registered = record_expecting_error(lambda: LoadGenerator("load", LoadGeneratorArgs()))
    assert isinstance(error, SpecError) and registered == []
    assert [p.describe() for p in error.problems] == [
        "target_url: got (not set); allowed: the URL to request"
    ]
