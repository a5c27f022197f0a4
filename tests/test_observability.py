"""The mesh's observability: Prometheus scraping the proxies, istiod and Jaeger's span metrics; Grafana with
both datasources and Istio's dashboards; Kiali wired to the traces, the metrics and the dashboards; each UI
behind a port-forward or the gateway's allowlist; and none of it on the mesh's critical path."""

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from mesh_tracing import (
    Grafana,
    GrafanaArgs,
    Kiali,
    KialiArgs,
    KialiAuth,
    KialiOpenId,
    MetricsMode,
    PodPortTarget,
    Prometheus,
    PrometheusArgs,
    RemoteWriteArgs,
    UiAccess,
    UiRoute,
    UiRouteArgs,
)
from mesh_tracing.istio_dashboards import dashboards
from mesh_tracing.spec import SpecError
from mesh_tracing.tooling.recorder import Res, Run, Secret, record, revealed
from tests.program import run_program
from tests.test_settings import refused

CHART = "kubernetes:helm.sh/v4:Chart"

ISTIO_METRICS = {
    # Istio's standard metrics (istio.io docs/reference/config/metrics), as the proxies emit them.
    "istio_requests_total",
    "istio_request_duration_milliseconds_bucket",
    "istio_request_bytes_bucket",
    "istio_response_bytes_bucket",
    "istio_tcp_sent_bytes_total",
    "istio_tcp_received_bytes_total",
    # istiod's own (istio/istio @ 1.30.3 pilot/pkg/xds/monitoring.go, exported without `_total` suffixes by
    # pkg/monitoring) and the Go runtime's.
    "pilot_xds",
    "pilot_xds_pushes",
    "pilot_proxy_convergence_time_bucket",
    "pilot_push_triggers",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "go_goroutines",
    # The kubelet's container metrics (cAdvisor), for the proxies' cost.
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
}


def metric_names(expr: str) -> set[str]:
    """The metrics a PromQL expression reads: its names outside selectors, ranges and groupings that are
    not functions."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\bby\s*\([^)]*\)", " ", expr)
    return {name for name in re.findall(r"\b([a-z_:][a-z0-9_:]*)\b(?!\s*\()", bare)}


def chart(run: Run, name: str) -> dict[str, Any]:
    (found,) = [c for c in run.of_type(CHART) if c.at("chart") == name]
    values: dict[str, Any] = found.at("values")
    return values


def service_fqdn(service: Res) -> str:
    return f"{service.at('metadata', 'name')}.{service.at('metadata', 'namespace')}.svc.cluster.local"


@pytest.fixture
def dev(rendered: Callable[[str], Run]) -> Run:
    return rendered("dev")


def test_prometheus_scrapes_every_proxy_istiod_and_jaegers_span_metrics(dev: Run) -> None:
    jobs = chart(dev, "prometheus")["scrapeConfigs"]
    envoy = jobs["envoy-stats"]
    assert envoy["metrics_path"] == "/stats/prometheus"
    assert {
        "action": "keep",
        "source_labels": ["__meta_kubernetes_pod_container_port_name"],
        "regex": "http-envoy-prom",
    } in envoy["relabel_configs"]
    istiod = jobs["istiod"]
    assert istiod["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["istio-system"]}}]
    assert {
        "action": "keep",
        "source_labels": ["__meta_kubernetes_pod_container_port_name"],
        "regex": "http-monitoring",
    } in istiod["relabel_configs"]
    # Jaeger's collector pods, by the container port its Deployment declares for the span metrics.
    spm = jobs["jaeger-spanmetrics"]
    (keep,) = [r for r in spm["relabel_configs"] if r["action"] == "keep"]
    collector = dev.named("jaeger-all-in-one")
    (container,) = collector.at("spec", "template", "spec", "containers")
    (port,) = [p for p in container["ports"] if p["name"] == keep["regex"]]
    assert port["containerPort"] == 8889
    assert spm["kubernetes_sd_configs"][0]["namespaces"]["names"] == [collector.at("metadata", "namespace")]
    # The chart's own pod job would scrape every proxy a second time (its merged port).
    assert jobs["kubernetes-pods"] == {"enabled": False}


def test_grafana_has_both_datasources_and_istios_five_dashboards(dev: Run) -> None:
    values = chart(dev, "grafana")
    sources = {s["type"]: s for s in values["datasources"]["datasources.yaml"]["datasources"]}
    assert sources["prometheus"]["url"] == dev.output("prometheusUrl")
    assert sources["jaeger"]["url"] == f"http://{service_fqdn(dev.named('jaeger-query-service'))}:16686"
    configmap = dev.named("grafana-dashboards")
    assert values["dashboardsConfigMaps"] == {"istio": configmap.at("metadata", "name")}
    titles = sorted(json.loads(board)["title"] for board in configmap.at("data").values())
    assert titles == [
        "Istio Control Plane Dashboard",
        "Istio Mesh Dashboard",
        "Istio Performance Dashboard",
        "Istio Service Dashboard",
        "Istio Workload Dashboard",
    ]


def test_every_dashboard_query_reads_a_metric_istio_emits_from_the_prometheus_datasource() -> None:
    used: set[str] = set()
    for board in dashboards("http://localhost:16686").values():
        for panel in json.loads(board)["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel["title"]
            for target in panel["targets"]:
                used |= metric_names(target["expr"])
    assert used == ISTIO_METRICS


def test_a_service_dashboard_links_to_that_services_traces_in_jaeger() -> None:
    board = json.loads(dashboards("https://jaeger.example.com")["istio-service.json"])
    (link,) = board["links"]
    # Jaeger names a proxy's spans `<canonical service>.<namespace>`: the dashboard's two variables.
    assert (
        link["url"]
        == "https://jaeger.example.com/search?service=${service}.${namespace}&lookback=1h&limit=20"
    )
    assert {v["name"] for v in board["templating"]["list"]} == {"namespace", "service"}


def test_kiali_reads_traces_metrics_and_dashboards_from_the_other_parts_outputs(dev: Run) -> None:
    services = chart(dev, "kiali-server")["external_services"]
    tracing = services["tracing"]
    query = dev.named("jaeger-query-service")
    grpc = [p["port"] for p in query.at("spec", "ports") if p["name"] == "grpc-query"]
    assert tracing["internal_url"] == f"http://{service_fqdn(query)}:{int(grpc[0])}"
    assert (tracing["enabled"], tracing["provider"], tracing["use_grpc"]) == (True, "jaeger", True)
    assert tracing["external_url"] == dev.output("jaegerUi")
    assert services["prometheus"] == {"url": dev.output("prometheusUrl")}
    assert services["grafana"]["internal_url"] == "http://grafana.monitoring.svc.cluster.local:80"
    assert services["grafana"]["external_url"] == dev.output("grafanaUi")
    # In the control plane's namespace; Kiali 2.29 finds istiod and its revisions itself.
    (release,) = [c for c in dev.of_type(CHART) if c.at("chart") == "kiali-server"]
    assert release.at("namespace") == dev.named("istio-istiod").at("namespace")


def test_the_prometheus_url_every_part_reads_is_the_prometheus_service(dev: Run) -> None:
    values = chart(dev, "prometheus")
    (release,) = [c for c in dev.of_type(CHART) if c.at("chart") == "prometheus"]
    service = f"{values['server']['fullnameOverride']}.{release.at('namespace')}.svc.cluster.local"
    assert dev.output("prometheusUrl") == f"http://{service}:80"
    (backend,) = yaml.safe_load(dev.named("jaeger-all-in-one-config").at("data", "config.yaml"))[
        "extensions"
    ]["jaeger_storage"]["metric_backends"].values()
    assert backend["prometheus"]["endpoint"] == dev.output("prometheusUrl")


def test_nothing_in_the_mesh_waits_for_the_observability_parts(rendered: Callable[[str], Run]) -> None:
    for stack in ("dev", "staging", "prod"):
        run = rendered(stack)
        observers = [
            c for c in run.of_type(CHART) if c.at("chart") in ("prometheus", "grafana", "kiali-server")
        ]
        assert len(observers) == 3
        critical = [
            *run.of_type("kubernetes:apps/v1:Deployment"),
            *run.of_type("kubernetes:telemetry.istio.io/v1:Telemetry"),
            *[c for c in run.of_type(CHART) if c.at("chart") in ("istiod", "gateway", "base")],
        ]
        for resource in critical:
            for observer in observers:
                assert not run.waits_for(resource, observer), (
                    f"{stack}: {resource.name} waits for {observer.name}"
                )


def test_prod_runs_two_prometheus_servers_with_volumes_and_a_budget_and_two_kialis(
    rendered: Callable[[str], Run],
) -> None:
    run = rendered("prod")
    server = chart(run, "prometheus")["server"]
    assert (server["replicaCount"], server["statefulSet"], server["podDisruptionBudget"]) == (
        2,
        {"enabled": True},
        {"enabled": True, "maxUnavailable": 1},
    )
    assert server["persistentVolume"] == {"enabled": True, "size": "50Gi"}
    kiali = chart(run, "kiali-server")
    assert (kiali["auth"]["strategy"], kiali["deployment"]["replicas"]) == ("token", 2)
    assert kiali["deployment"]["pod_disruption_budget"] == {"spec": {"maxUnavailable": 1}}
    grafana = chart(run, "grafana")
    assert grafana["grafana.ini"]["auth.anonymous"] == {"enabled": False}
    assert (grafana["persistence"]["size"], grafana["deploymentStrategy"]) == ("10Gi", {"type": "Recreate"})


def test_dev_keeps_a_day_of_samples_in_an_empty_dir_and_opens_the_uis_without_login(dev: Run) -> None:
    server = chart(dev, "prometheus")["server"]
    assert (server["retention"], server["persistentVolume"]) == ("1d", {"enabled": False})
    assert chart(dev, "grafana")["grafana.ini"]["auth.anonymous"] == {"enabled": True, "org_role": "Viewer"}
    assert chart(dev, "kiali-server")["auth"] == {"strategy": "anonymous"}


def test_dev_puts_grafana_and_kiali_on_the_gateway_behind_the_allowlist_with_tls(dev: Run) -> None:
    (gateway,) = [
        g for g in dev.of_type("kubernetes:networking.istio.io/v1:Gateway") if g.name == "ingress-gateway"
    ]
    (server,) = gateway.at("spec", "servers")
    certificate = dev.named("ingress-tls-certificate")
    for ui, host, port in (("grafana", "grafana.localtest.me", 80), ("kiali", "kiali.localtest.me", 20001)):
        assert host in server["hosts"] and host in certificate.at("spec", "dnsNames")
        route = dev.named(f"{ui}-ui-route").at("spec")
        assert route["http"][0]["route"][0]["destination"]["port"] == {"number": port}
        deny = dev.named(f"{ui}-ui-allowlist").at("spec")
        assert deny["action"] == "DENY"
        assert deny["rules"][0]["from"] == [{"source": {"notRemoteIpBlocks": ["127.0.0.1/32"]}}]
    assert dev.output("kialiUi") == "https://kiali.localtest.me:8443/kiali"


def test_staging_reaches_every_ui_by_port_forward(rendered: Callable[[str], Run]) -> None:
    run = rendered("staging")
    assert not run.of_type("mesh-tracing:index:UiRoute")
    assert run.output("grafanaPortForward") == "kubectl -n monitoring port-forward svc/grafana 3000:80"
    assert run.output("kialiPortForward") == "kubectl -n istio-system port-forward svc/kiali 20001:20001"
    assert run.output("grafanaUi") == "http://localhost:3000"


def test_grafanas_admin_password_and_kialis_signing_key_are_secrets_kept_in_secrets(dev: Run) -> None:
    assert isinstance(dev.outputs["grafanaAdminPassword"], Secret)
    admin = dev.named("grafana-admin")
    assert isinstance(admin.at("stringData"), Secret)
    assert chart(dev, "grafana")["admin"]["existingSecret"] == admin.at("metadata", "name")
    signing = dev.one("kubernetes:core/v1:Secret", "kiali-signing-key")
    assert chart(dev, "kiali-server")["login_token"] == {
        "signing_key": f"secret:{signing.at('metadata', 'name')}:key"
    }


def test_a_chosen_grafana_password_reaches_only_its_secret() -> None:
    run = run_program("staging", secrets={"grafanaAdminPassword": "chosen-by-the-team"})
    holders = [r.name for r in run.resources if "chosen-by-the-team" in revealed(r.inputs)]
    assert holders == ["grafana-admin"]
    generated = [r.name for r in run.of_type("random:index/randomPassword:RandomPassword")]
    assert generated == ["kiali-signing-key"], "a chosen password is not generated too"


def test_remote_write_sends_its_credential_from_a_mounted_secret() -> None:
    run = run_program(
        "prod",
        overrides={
            "prometheus.remoteWrite": {"url": "https://mimir.example.com/api/v1/push", "username": "prod"}
        },
        secrets={"prometheusRemoteWriteCredential": "remote-write-token"},
    )
    server = chart(run, "prometheus")["server"]
    (target,) = server["remoteWrite"]
    assert target == {
        "url": "https://mimir.example.com/api/v1/push",
        "basic_auth": {"username": "prod", "password_file": "/etc/prometheus-remote-write/credential"},
    }
    secret = run.named("prometheus-remote-write")
    (mount,) = server["extraSecretMounts"]
    assert (mount["secretName"], mount["mountPath"]) == (
        secret.at("metadata", "name"),
        "/etc/prometheus-remote-write",
    )
    assert [r.name for r in run.resources if "remote-write-token" in revealed(r.inputs)] == [
        "prometheus-remote-write"
    ]


PARTS_OFF: dict[str, tuple[dict[str, Any], set[str]]] = {
    "grafana": (
        {"grafana.enabled": False},
        {"mesh-tracing:index:Grafana::grafana", "mesh-tracing:index:UiRoute::grafana-ui"},
    ),
    "kiali": (
        {"kiali.enabled": False},
        {"mesh-tracing:index:Kiali::kiali", "mesh-tracing:index:UiRoute::kiali-ui"},
    ),
}


def keyed(run: Run) -> dict[str, Res]:
    return {f"{r.type}::{r.name}": r for r in run.resources}


def family(run: Run, roots: set[str]) -> set[str]:
    by_urn = {r.urn: f"{r.type}::{r.name}" for r in run.resources}
    members = set(roots)
    while True:
        grown = members | {f"{r.type}::{r.name}" for r in run.resources if by_urn.get(r.parent) in members}
        if grown == members:
            return members
        members = grown


@pytest.mark.parametrize("part", PARTS_OFF)
def test_turning_a_part_off_removes_exactly_its_resources(part: str, dev: Run) -> None:
    overrides, roots = PARTS_OFF[part]
    after = keyed(run_program("dev", overrides=overrides))
    before = keyed(dev)
    assert before.keys() - after.keys() == family(dev, roots)
    assert after.keys() <= before.keys()
    changed = {k for k in after if before[k].inputs != after[k].inputs}
    # What linked to the part: the gateway stops serving its host; Kiali stops linking to Grafana.
    expected = {
        "kubernetes:networking.istio.io/v1:Gateway::ingress-gateway",
        "kubernetes:networking.istio.io/v1:Gateway::ingress-http-redirect",
        "kubernetes:cert-manager.io/v1:Certificate::ingress-tls-certificate",
    }
    if part == "grafana":
        expected.add("kubernetes:helm.sh/v4:Chart::kiali-chart")
    assert changed == expected


def test_turning_all_metrics_off_removes_them_and_the_monitor_tab(dev: Run) -> None:
    overrides = {"prometheus.mode": "none", "grafana.enabled": False, "kiali.enabled": False}
    after = keyed(run_program("dev", overrides=overrides))
    before = keyed(dev)
    roots = {"mesh-tracing:index:Prometheus::prometheus"} | set().union(*(r for _, r in PARTS_OFF.values()))
    assert before.keys() - after.keys() == family(dev, roots)
    changed = {k for k in after if before[k].inputs != after[k].inputs}
    assert changed == {
        "kubernetes:networking.istio.io/v1:Gateway::ingress-gateway",
        "kubernetes:networking.istio.io/v1:Gateway::ingress-http-redirect",
        "kubernetes:cert-manager.io/v1:Certificate::ingress-tls-certificate",
        # Jaeger without a Prometheus: no span metrics, no Monitor tab.
        "kubernetes:core/v1:ConfigMap::jaeger-all-in-one-config",
        "kubernetes:apps/v1:Deployment::jaeger-all-in-one",
    }


def test_grafana_or_kiali_without_metrics_is_refused() -> None:
    error = refused("dev", overrides={"prometheus.mode": "none"})
    assert sorted(error.paths) == ["grafana.enabled", "kiali.enabled"]
    assert "false while prometheus.mode is none" in str(error)


# -- each component on its own, with hand-written args ----------------------------------------------


def test_prometheus_alone_for_an_existing_operator_declares_the_monitors() -> None:
    args = PrometheusArgs(
        mode=MetricsMode.EXISTING,
        url="http://prometheus-operated.monitoring.svc.cluster.local:9090",
        operator_monitors=True,
        monitor_labels={"release": "kube-prometheus-stack"},
        pod_targets=[PodPortTarget(job="app", namespace="shop", port_name="http-metrics")],
    )
    run = record(lambda: Prometheus("metrics", args))
    assert not run.of_type(CHART)
    monitors = {r.name: r for r in run.resources if r.type.startswith("kubernetes:monitoring.coreos.com/v1:")}
    assert set(monitors) == {"metrics-envoy-stats", "metrics-app", "metrics-istiod"}
    envoy = monitors["metrics-envoy-stats"].at("spec")
    assert envoy["namespaceSelector"] == {"any": True}
    assert envoy["podMetricsEndpoints"][0]["port"] == "http-envoy-prom"
    assert monitors["metrics-istiod"].at("spec", "endpoints", 0, "port") == "http-monitoring"
    for monitor in monitors.values():
        assert monitor.at("metadata", "labels", "release") == "kube-prometheus-stack"


def test_prometheus_modes_refuse_what_they_do_not_use() -> None:
    with pytest.raises(SpecError) as existing:
        PrometheusArgs(mode=MetricsMode.EXISTING)
    assert [p.where() for p in existing.value.problems] == ["url"]
    with pytest.raises(SpecError) as install:
        PrometheusArgs(url="http://elsewhere:9090", operator_monitors=True)
    assert sorted(p.where() for p in install.value.problems) == ["operator_monitors", "url"]
    with pytest.raises(SpecError) as remote:
        RemoteWriteArgs(url="https://mimir.example.com/api/v1/push")
    assert [p.where() for p in remote.value.problems] == ["credential"]


def test_grafana_alone_generates_its_admin_password_once() -> None:
    run = record(lambda: Grafana("grafana", GrafanaArgs(prometheus_url="http://prom.example:9090")))
    (generated,) = run.of_type("random:index/randomPassword:RandomPassword")
    assert generated.at("length") == 32
    assert run.waits_for(run.named("grafana-admin"), generated)
    assert run.named("grafana-namespace").at("metadata", "labels", "istio-injection") == "disabled"


def test_kiali_alone_with_openid_keeps_the_client_secret_in_the_secret_kiali_reads() -> None:
    args = KialiArgs(
        auth=KialiAuth.OPENID,
        openid=KialiOpenId(issuer_uri="https://login.example.com/realms/platform", client_id="kiali"),
        openid_client_secret="client-secret",
    )
    run = record(lambda: Kiali("kiali", args))
    values = chart(run, "kiali-server")
    assert values["auth"]["openid"]["client_id"] == "kiali"
    oidc = run.named("kiali-oidc")
    assert (oidc.at("metadata", "name"), oidc.at("stringData")) == (
        "kiali",
        Secret({"oidc-secret": "client-secret"}),
    )
    with pytest.raises(SpecError) as missing:
        KialiArgs(auth=KialiAuth.OPENID)
    assert sorted(p.where() for p in missing.value.problems) == ["openid", "openid_client_secret"]


def test_a_ui_route_alone_puts_a_service_on_the_gateway_behind_its_allowlist() -> None:
    args = UiRouteArgs(
        access=UiAccess.GATEWAY,
        host="prometheus.example.com",
        allowed_source_ranges=["10.0.0.0/8"],
        service_host="prometheus.monitoring.svc.cluster.local",
        service_port=80,
    )
    run = record(lambda: UiRoute("prometheus-ui", args))
    route = run.named("prometheus-ui-route").at("spec")
    assert route["hosts"] == ["prometheus.example.com"]
    assert run.named("prometheus-ui-allowlist").at("spec", "rules", 0, "from") == [
        {"source": {"notRemoteIpBlocks": ["10.0.0.0/8"]}}
    ]
    with pytest.raises(SpecError) as open_ui:
        UiRouteArgs(access=UiAccess.GATEWAY, host="prometheus.example.com")
    assert [p.where() for p in open_ui.value.problems] == ["allowed_source_ranges"]
