"""Cross-resource consistency of the committed plans: names, selectors, secrets, routes and ordering that
must line up between resources for the stack to work, checked on exactly what reviewers see."""

from collections.abc import Iterator
from typing import Any

import pytest

from mesh_tracing.tooling.recorder import waits_for
from tests.program import STACKS, committed_plan

Resource = dict[str, Any]


class Plan:
    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.resources: list[Resource] = committed_plan(stack)["resources"]
        self.by_key = {self.key(r): r for r in self.resources}

    @staticmethod
    def key(resource: Resource) -> str:
        return f"{resource['type']}::{resource['name']}"

    def of_kind(self, kind: str) -> list[Resource]:
        return [
            r
            for r in self.resources
            if r["type"].endswith(f":{kind}") and not r.get("options", {}).get("read")
        ]

    def named(self, name: str) -> Resource:
        (resource,) = [r for r in self.resources if r["name"] == name]
        return resource

    def waits_for(self, dependent: Resource, prerequisite: Resource) -> bool:
        return waits_for(
            self.key(dependent),
            self.key(prerequisite),
            lambda key: self.by_key[key].get("dependsOn", []),
            lambda key: [self.key(r) for r in self.resources if r.get("parent") == key],
        )

    def services(self) -> Iterator[tuple[str, str, Resource]]:
        """Declared Services as (name, namespace, resource)."""
        for service in self.of_kind("Service"):
            metadata = service["inputs"]["metadata"]
            yield metadata["name"], metadata["namespace"], service

    def chart_services(self) -> Iterator[tuple[str, str]]:
        """Services the observability charts render, as (name, namespace): the prometheus chart's server is
        `server.fullnameOverride`; grafana's and kiali-server's are named after a release that contains
        the chart's name (their `fullname` helpers)."""
        for chart in self.of_kind("Chart"):
            inputs = chart["inputs"]
            if inputs["chart"] == "prometheus":
                yield inputs["values"]["server"]["fullnameOverride"], inputs["namespace"]
            elif inputs["chart"] in ("grafana", "kiali-server"):
                yield inputs["name"], inputs["namespace"]


@pytest.fixture(params=STACKS)
def plan(request: pytest.FixtureRequest) -> Plan:
    return Plan(request.param)


def fqdn(host: str, namespace: str) -> str:
    return host if "." in host else f"{host}.{namespace}.svc.cluster.local"


def test_every_telemetry_provider_is_an_extension_provider_of_istiod(plan: Plan) -> None:
    providers = {
        p["name"] for p in plan.named("istio-istiod")["inputs"]["values"]["meshConfig"]["extensionProviders"]
    }
    for telemetry in plan.of_kind("Telemetry"):
        for rule in telemetry["inputs"]["spec"]["tracing"]:
            assert {p["name"] for p in rule["providers"]} <= providers, telemetry["name"]


def test_every_in_cluster_provider_points_at_a_declared_service_and_port(plan: Plan) -> None:
    declared = {
        (f"{name}.{namespace}.svc.cluster.local", port["port"])
        for name, namespace, service in plan.services()
        for port in service["inputs"]["spec"]["ports"]
    }
    for provider in plan.named("istio-istiod")["inputs"]["values"]["meshConfig"]["extensionProviders"]:
        (config,) = [v for k, v in provider.items() if k != "name"]
        if config["service"].endswith(".svc.cluster.local"):
            assert (config["service"], config["port"]) in declared, provider["name"]


def test_every_gateway_selects_the_pods_the_chart_labels(plan: Plan) -> None:
    pod_labels = plan.named("ingress-chart")["inputs"]["values"]["labels"]
    for gateway in plan.of_kind("Gateway"):
        selector = gateway["inputs"]["spec"]["selector"]
        assert selector and selector.items() <= pod_labels.items(), gateway["name"]


def test_every_certificate_secret_is_a_gateway_credential_in_the_same_namespace(plan: Plan) -> None:
    credentials = {
        (gateway["inputs"]["metadata"]["namespace"], server["tls"]["credentialName"])
        for gateway in plan.of_kind("Gateway")
        for server in gateway["inputs"]["spec"]["servers"]
        if server.get("tls", {}).get("credentialName")
    }
    for certificate in plan.of_kind("Certificate"):
        spec, namespace = certificate["inputs"]["spec"], certificate["inputs"]["metadata"]["namespace"]
        if not spec.get("isCA"):
            assert (namespace, spec["secretName"]) in credentials, certificate["name"]
    assert credentials, "every shipped stack serves TLS"


def test_every_virtual_service_binds_existing_gateways_and_routes_to_declared_services(plan: Plan) -> None:
    gateways = {
        f"{g['inputs']['metadata']['namespace']}/{g['inputs']['metadata']['name']}"
        for g in plan.of_kind("Gateway")
    }
    services = {f"{name}.{namespace}.svc.cluster.local" for name, namespace, _ in plan.services()}
    services |= {f"{name}.{namespace}.svc.cluster.local" for name, namespace in plan.chart_services()}
    for route in plan.of_kind("VirtualService"):
        spec, namespace = route["inputs"]["spec"], route["inputs"]["metadata"]["namespace"]
        assert set(spec.get("gateways", [])) <= gateways, route["name"]
        for http in spec["http"]:
            for destination in (r["destination"] for r in http.get("route", [])):
                assert fqdn(destination["host"], namespace) in services, (
                    f"{route['name']}: {destination['host']}"
                )


CRD_OWNERS = {
    "kubernetes:networking.istio.io/": "kubernetes:helm.sh/v4:Chart::istio-base",
    "kubernetes:security.istio.io/": "kubernetes:helm.sh/v4:Chart::istio-base",
    "kubernetes:telemetry.istio.io/": "kubernetes:helm.sh/v4:Chart::istio-base",
    "kubernetes:cert-manager.io/": "kubernetes-cert-manager:index:CertManager::cert-manager",
}


def test_every_custom_resource_comes_after_the_chart_that_installs_its_crd(plan: Plan) -> None:
    checked = 0
    for resource in plan.resources:
        owner = next((o for prefix, o in CRD_OWNERS.items() if resource["type"].startswith(prefix)), None)
        if owner is not None:
            assert plan.waits_for(resource, plan.by_key[owner]), f"{resource['name']} before {owner}"
            checked += 1
    assert checked


def test_every_meshed_workload_comes_after_istiod(plan: Plan) -> None:
    meshed_namespaces = {
        ns["inputs"]["metadata"]["name"]
        for ns in plan.of_kind("Namespace")
        if "istio.io/rev" in ns["inputs"]["metadata"].get("labels", {})
    }
    istiod = plan.named("istio-istiod")
    workloads = [
        d
        for d in plan.of_kind("Deployment")
        if d["inputs"]["metadata"]["namespace"] in meshed_namespaces
        and d["inputs"]["spec"]["template"]["metadata"]["labels"].get("sidecar.istio.io/inject") != "false"
    ]
    for workload in [*workloads, plan.named("ingress-chart")]:
        assert plan.waits_for(workload, istiod), workload["name"]
    if plan.stack != "prod":
        assert workloads, "dev and staging run meshed workloads"
