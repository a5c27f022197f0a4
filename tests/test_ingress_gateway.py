"""The ingress gateway: exposure, the Gateway's selector, TLS from cert-manager, the redirect, the Jaeger UI."""

import zlib
from collections.abc import Callable
from typing import Any

import pytest

from mesh_tracing import (
    ExposureMode,
    GatewayCertificateArgs,
    IngressGateway,
    IngressGatewayArgs,
    NodePorts,
    SpecError,
    TlsMode,
)
from mesh_tracing.tooling.recorder import Res, Run, record, record_expecting_error
from tests.program import UIS_OFF_THE_GATEWAY, run_program

CHART = "ingress-chart"
GATEWAY = "ingress-gateway"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"


def chart_values(run: Run) -> dict[str, Any]:
    values: dict[str, Any] = run.named(CHART).at("values")
    return values


@pytest.mark.parametrize(
    ("stack", "service_type", "annotations"),
    [
        ("dev", "ClusterIP", None),
        (
            "staging",
            "LoadBalancer",
            {
                "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
            },
        ),
        ("prod", "LoadBalancer", None),
    ],
)
def test_each_stack_exposes_the_gateway_service_its_way(
    stack: str, service_type: str, annotations: dict[str, str] | None, rendered: Callable[[str], Run]
) -> None:
    service = chart_values(rendered(stack))["service"]
    assert service["type"] == service_type
    assert service.get("annotations") == annotations


@pytest.mark.parametrize(
    ("cloud", "annotation"),
    [
        ("gcp", "networking.gke.io/load-balancer-type"),
        ("azure", "service.beta.kubernetes.io/azure-load-balancer-internal"),
    ],
)
def test_an_internal_load_balancer_uses_the_clouds_annotation(cloud: str, annotation: str) -> None:
    service = chart_values(run_program("staging", overrides={"gateway.cloud": cloud}))["service"]
    assert list(service["annotations"]) == [annotation]


@pytest.mark.parametrize("exposure", ["cluster", "nodeport"])
def test_without_a_load_balancer_nothing_waits_for_one(exposure: str) -> None:
    run = run_program("dev", overrides={"gateway.exposure": exposure})
    # Pulumi awaits a load balancer address only for Services of type LoadBalancer.
    assert chart_values(run)["service"]["type"] in ("ClusterIP", "NodePort")
    assert "load balancer" not in run.output("gatewayAddress")


def test_a_load_balancer_address_is_read_from_the_live_service_after_the_chart(
    rendered: Callable[[str], Run],
) -> None:
    run = rendered("prod")
    service = run.named("ingress-service")
    assert service.read and service.inputs["id"] == "istio-ingress/istio-ingressgateway"
    assert run.waits_for(service, run.named(CHART))


def test_fixed_node_ports_restate_the_charts_ports() -> None:
    run = run_program(
        "dev",
        overrides={"gateway.exposure": "nodeport", "gateway.nodePorts": {"http": 30080, "https": 30443}},
    )
    ports = {p["name"]: p for p in chart_values(run)["service"]["ports"]}
    assert set(ports) == {"status-port", "http2", "https"}
    assert (ports["http2"]["nodePort"], ports["https"]["nodePort"]) == (30080, 30443)
    assert run.output("appUrl") == "https://bookinfo.localtest.me:30443"


def test_a_public_load_balancer_takes_source_ranges() -> None:
    run = run_program("prod", overrides={"gateway.loadBalancerSourceRanges": ["203.0.113.0/24"]})
    assert chart_values(run)["service"]["loadBalancerSourceRanges"] == ["203.0.113.0/24"]


def test_the_gateway_selects_exactly_the_labels_the_chart_gives_its_pods(stack_run: tuple[str, Run]) -> None:
    stack, run = stack_run
    selector = run.named(GATEWAY).at("spec", "selector")
    pod_labels = chart_values(run)["labels"]
    assert selector and selector.items() <= pod_labels.items(), stack
    assert run.named("ingress-http-redirect").at("spec", "selector") == selector


def test_the_gateway_namespace_and_pods_join_the_mesh_through_the_stable_tag(
    rendered: Callable[[str], Run],
) -> None:
    run = rendered("dev")
    labels = run.named("ingress-namespace").at("metadata", "labels")
    assert labels == run.output("injectionLabels") == {"istio.io/rev": "stable"}
    values = chart_values(run)
    assert values["revision"] == "stable"
    # The revision behind the tag, on the pod template: when the tag moves, the gateway restarts onto it.
    assert values["podAnnotations"] == {"mesh-tracing/sidecar-revision": run.output("istioRevision")}
    assert "stable" in run.named("istio-istiod").at("values", "revisionTags")


def test_the_gateway_is_installed_after_a_ready_istiod(rendered: Callable[[str], Run]) -> None:
    run = rendered("dev")
    istiod = run.named("istio-istiod")
    assert run.waits_for(run.named(CHART), istiod)
    assert run.waits_for(run.named(GATEWAY), istiod)


def test_the_credential_name_is_the_certificates_secret_in_the_gateways_namespace(
    stack_run: tuple[str, Run],
) -> None:
    stack, run = stack_run
    (server,) = run.named(GATEWAY).at("spec", "servers")
    certificate = run.named("ingress-tls-certificate")
    assert server["tls"]["credentialName"] == certificate.at("spec", "secretName"), stack
    assert certificate.at("metadata", "namespace") == run.named(GATEWAY).at("metadata", "namespace")
    assert set(certificate.at("spec", "dnsNames")) == set(server["hosts"])


def redirect_server(run: Run) -> dict[str, Any]:
    (server,) = run.named("ingress-http-redirect").at("spec", "servers")
    return dict(server)


def test_with_tls_the_app_gateway_serves_only_https_and_port_80_redirects(
    rendered: Callable[[str], Run],
) -> None:
    run = rendered("dev")  # self-signed
    (server,) = run.named(GATEWAY).at("spec", "servers")
    assert server["port"] == {"number": 443, "name": "https", "protocol": "HTTPS"}
    assert server["tls"]["mode"] == "SIMPLE"
    redirect = redirect_server(run)
    assert redirect["port"]["number"] == 80
    assert redirect["tls"] == {"httpsRedirect": True}


def test_with_acme_challenges_are_answered_before_the_redirect(rendered: Callable[[str], Run]) -> None:
    run = rendered("prod")
    assert "tls" not in redirect_server(run), "a Gateway-level redirect would swallow ACME challenges"
    routes = run.named("ingress-http-redirect-routes").at("spec")
    assert routes["gateways"] == ["istio-ingress/istio-ingressgateway-http-redirect"]
    challenge, redirect = routes["http"]
    assert challenge["match"] == [
        {"authority": {"exact": "bookinfo.example.com"}, "uri": {"prefix": "/.well-known/acme-challenge/"}}
    ]
    solver = run.named("ingress-acme-solver-bookinfo.example.com")
    destination = challenge["route"][0]["destination"]
    assert destination["host"] == f"{solver.at('metadata', 'name')}.istio-ingress.svc.cluster.local"
    assert destination["port"]["number"] == solver.at("spec", "ports")[0]["port"] == 8089
    # cert-manager labels the solver pod with the adler32 of the domain.
    assert solver.at("spec", "selector") == {
        "acme.cert-manager.io/http01-solver": "true",
        "acme.cert-manager.io/http-domain": str(zlib.adler32(b"bookinfo.example.com")),
    }
    assert redirect["redirect"] == {"scheme": "https", "redirectCode": 301}


def test_without_tls_the_gateway_serves_plain_http_and_nothing_redirects() -> None:
    run = run_program(
        "dev",
        overrides={"gateway.tls.mode": "none", "gateway.hosts": ["*"], **UIS_OFF_THE_GATEWAY},
    )
    (server,) = run.named(GATEWAY).at("spec", "servers")
    assert server == {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
    assert not run.of_type(CERTIFICATE) and not run.of_type("kubernetes-cert-manager:index:CertManager")
    assert (
        run.output("gatewayAddress")
        == "kubectl -n istio-ingress port-forward svc/istio-ingressgateway 8080:80"
    )


def issuer_of(run: Run, certificate: Res) -> Res:
    name = certificate.at("spec", "issuerRef", "name")
    return next(
        r for r in run.of_type("kubernetes:cert-manager.io/v1:Issuer") if r.at("metadata", "name") == name
    )


def test_dev_signs_with_a_self_signed_ca(rendered: Callable[[str], Run]) -> None:
    run = rendered("dev")
    ca_issuer = issuer_of(run, run.named("ingress-tls-certificate"))
    root = next(
        c
        for c in run.of_type(CERTIFICATE)
        if c.at("spec", "secretName") == ca_issuer.at("spec", "ca", "secretName")
    )
    assert root.at("spec", "isCA") is True
    assert issuer_of(run, root).at("spec") == {"selfSigned": {}}


@pytest.mark.parametrize(
    ("stack", "server"),
    [
        ("staging", "https://acme-staging-v02.api.letsencrypt.org/directory"),
        ("prod", "https://acme-v02.api.letsencrypt.org/directory"),
    ],
)
def test_staging_and_prod_use_lets_encrypt_with_an_http01_solver(
    stack: str, server: str, rendered: Callable[[str], Run]
) -> None:
    run = rendered(stack)
    acme = issuer_of(run, run.named("ingress-tls-certificate")).at("spec", "acme")
    assert acme["server"] == server
    assert acme["email"] == "platform-team@example.com"
    (solver,) = acme["solvers"]
    assert solver["http01"]["ingress"]["serviceType"] == "ClusterIP"


def test_certificates_and_issuers_wait_for_cert_manager(stack_run: tuple[str, Run]) -> None:
    stack, run = stack_run
    cert_manager = run.one("kubernetes-cert-manager:index:CertManager")
    # CRDs through `crds.enabled` (the deprecated `installCRDs` stays unset), kept when the release goes.
    assert cert_manager.at("helmOptions", "values", "crds") == {"enabled": True, "keep": True}
    assert "installCRDs" not in cert_manager.inputs
    for resource in run.of_type(CERTIFICATE) + run.of_type("kubernetes:cert-manager.io/v1:Issuer"):
        assert run.waits_for(resource, cert_manager), f"{stack}: {resource.name}"


def test_a_cluster_that_runs_cert_manager_gets_no_second_one() -> None:
    run = run_program("dev", overrides={"gateway.tls.certManager.install": False})
    assert not run.of_type("kubernetes-cert-manager:index:CertManager")
    assert run.of_type(CERTIFICATE)


def test_an_existing_secret_is_served_as_is() -> None:
    run = run_program(
        "dev", overrides={"gateway.tls": {"mode": "existing", "existingSecretName": "wildcard-tls"}}
    )
    (server,) = run.named(GATEWAY).at("spec", "servers")
    assert server["tls"]["credentialName"] == "wildcard-tls"
    assert not run.of_type(CERTIFICATE) and not run.of_type("kubernetes-cert-manager:index:CertManager")


def test_prod_runs_at_least_two_gateway_replicas_with_a_disruption_budget(
    rendered: Callable[[str], Run],
) -> None:
    values = chart_values(rendered("prod"))
    assert values["autoscaling"]["enabled"] is True and values["autoscaling"]["minReplicas"] >= 2
    assert values["podDisruptionBudget"] == {"minAvailable": 1}
    assert values["resources"]["requests"]["cpu"] == "500m"
    dev = chart_values(rendered("dev"))
    assert dev["autoscaling"]["enabled"] is False and dev["podDisruptionBudget"] == {}


def test_dev_serves_the_jaeger_ui_behind_tls_and_an_allowlist(rendered: Callable[[str], Run]) -> None:
    run = rendered("dev")
    route = run.named("jaeger-ui-route").at("spec")
    assert route["hosts"] == ["jaeger.localtest.me"]
    assert route["gateways"] == ["istio-ingress/istio-ingressgateway"]
    destination = route["http"][0]["route"][0]["destination"]
    query = run.named("jaeger-query-service")
    assert destination["host"] == "jaeger-query.tracing.svc.cluster.local"
    assert destination["port"]["number"] == query.at("spec", "ports")[0]["port"]
    (server,) = run.named(GATEWAY).at("spec", "servers")
    assert "jaeger.localtest.me" in server["hosts"] and "tls" in server
    policy = run.named("jaeger-ui-allowlist").at("spec")
    assert policy["action"] == "DENY"
    assert policy["selector"]["matchLabels"] == run.named(GATEWAY).at("spec", "selector")
    (rule,) = policy["rules"]
    assert rule["to"] == [{"operation": {"hosts": ["jaeger.localtest.me", "jaeger.localtest.me:*"]}}]
    assert rule["from"] == [{"source": {"notRemoteIpBlocks": ["127.0.0.1/32"]}}]
    assert run.output("jaegerUi") == "https://jaeger.localtest.me:8443"


def test_an_allowlisted_ui_behind_a_load_balancer_keeps_client_addresses() -> None:
    run = run_program(
        "staging",
        overrides={
            "gateway.jaegerUi": {
                "access": "gateway",
                "host": "jaeger.staging.example.com",
                "allowedSourceRanges": ["10.0.0.0/8"],
            }
        },
    )
    assert chart_values(run)["service"]["externalTrafficPolicy"] == "Local"
    assert run.output("jaegerUi") == "https://jaeger.staging.example.com"


def test_prod_keeps_the_jaeger_ui_off_the_gateway(rendered: Callable[[str], Run]) -> None:
    run = rendered("prod")
    assert not run.of_type("mesh-tracing:index:JaegerUi")
    assert run.output("jaegerUiPortForward") == "kubectl -n tracing port-forward svc/jaeger-query 16686:16686"
    assert run.output("jaegerUi") == "http://localhost:16686"


PENDING = "(load balancer address pending)"
"""What a load balancer's address reads until the cloud assigns it (the mocks never do)."""


@pytest.mark.parametrize(
    ("stack", "tls", "app_url", "address"),
    [
        (
            "dev",
            "selfsigned",
            "https://bookinfo.localtest.me:8443",
            "kubectl -n istio-ingress port-forward svc/istio-ingressgateway 8443:443",
        ),
        ("staging", "acme-staging", "https://bookinfo.staging.example.com", PENDING),
        ("prod", "acme", "https://bookinfo.example.com", PENDING),
    ],
)
def test_outputs_give_the_address_app_url_and_tls_mode(
    stack: str, tls: str, app_url: str, address: str, rendered: Callable[[str], Run]
) -> None:
    run = rendered(stack)
    assert run.output("gatewayTls") == tls
    assert run.output("appUrl") == app_url
    assert run.output("gatewayAddress") == address


def build_gateway(**args: Any) -> Run:
    spec = IngressGatewayArgs(**{"exposure": ExposureMode.CLUSTER, "hosts": ["shop.example.com"], **args})
    return record(lambda: IngressGateway("edge", spec))


def test_alone_it_joins_an_existing_istiods_revision_with_its_charts_defaults() -> None:
    run = build_gateway(revision="1-29-0")
    chart = run.named("edge-chart")
    assert chart.at("values", "revision") == "1-29-0"
    assert (chart.at("chart"), chart.at("version")) == ("gateway", "1.30.3")
    assert run.named("edge-namespace").at("metadata", "labels") == {"istio.io/rev": "1-29-0"}
    (server,) = run.named("edge-gateway").at("spec", "servers")
    assert server == {
        "port": {"number": 80, "name": "http", "protocol": "HTTP"},
        "hosts": ["shop.example.com"],
    }


def test_alone_without_a_revision_it_uses_the_default_injector() -> None:
    run = build_gateway()
    assert run.named("edge-namespace").at("metadata", "labels") == {"istio-injection": "enabled"}
    assert "revision" not in run.named("edge-chart").at("values")


def test_alone_with_tls_it_installs_cert_manager_and_its_certificates_wait_for_it() -> None:
    run = build_gateway(tls=GatewayCertificateArgs(mode=TlsMode.SELF_SIGNED))
    cert_manager = run.one("kubernetes-cert-manager:index:CertManager")
    assert cert_manager.name == "edge-tls-cert-manager"
    for resource in run.of_type(CERTIFICATE):
        assert run.waits_for(resource, cert_manager), resource.name
    certificate = run.named("edge-tls-certificate")
    assert certificate.at("spec", "secretName") == "istio-ingressgateway-tls"


@pytest.mark.parametrize(
    ("given", "fixed"), [({"http": 30080}, {"http2": 30080}), ({"https": 30443}, {"https": 30443})]
)
def test_one_fixed_node_port_keeps_every_port_of_the_chart(
    given: dict[str, int], fixed: dict[str, int]
) -> None:
    run = build_gateway(exposure=ExposureMode.NODEPORT, node_ports=NodePorts(**given))
    ports = {p["name"]: p for p in run.named("edge-chart").at("values", "service", "ports")}
    # A `ports` list replaces the chart's whole list: the other port (and the redirect on 80) must stay.
    assert set(ports) == {"status-port", "http2", "https"}
    assert {name: p["nodePort"] for name, p in ports.items() if "nodePort" in p} == fixed
    assert (ports["http2"]["port"], ports["https"]["port"]) == (80, 443)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            {"exposure": ExposureMode.INTERNAL_LB},
            "cloud: got (not set); allowed: aws, gcp or azure: whose annotations make the load balancer internal",
        ),
        ({"hosts": []}, "hosts: got []; allowed: List should have at least 1 item after validation, not 0"),
        ({"min_replicas": 3, "max_replicas": 2}, "max_replicas: got 2; allowed: >= min_replicas (3)"),
        (
            {"hosts": ["*"], "tls": {"mode": TlsMode.SELF_SIGNED}},
            "hosts.0: got \"*\"; allowed: a DNS name: a certificate cannot cover '*' (or set tls.mode none)",
        ),
        (
            {"tls": {"mode": TlsMode.ACME}},
            "tls.acme_email: got (not set); allowed: the Let's Encrypt account email, required with mode acme",
        ),
        (
            {"tls": {"mode": TlsMode.SELF_SIGNED, "namespace": "elsewhere"}},
            "tls.namespace: got (set); allowed: unset: IngressGateway, its namespace",
        ),
    ],
)
def test_invalid_args_are_refused_before_anything_is_registered(args: dict[str, Any], problem: str) -> None:
    spec = {"exposure": ExposureMode.CLUSTER, "hosts": ["shop.example.com"], **args}
    error, registered = record_expecting_error(lambda: IngressGateway("edge", spec))  # type: ignore[arg-type]
    assert isinstance(error, SpecError) and registered == []
    assert [p.describe() for p in error.problems] == [problem]
