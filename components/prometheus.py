"""Prometheus for the mesh's metrics: installed from the prometheus-community chart, an existing one (with the
Prometheus Operator's monitors if the cluster runs it), or none.

It scrapes what Istio documents for 1.30: every proxy's Envoy stats (container port `http-envoy-prom`,
15090, `/stats/prometheus`: sidecars and gateways) and istiod's monitoring port (`http-monitoring`, 15014,
`/metrics`), plus the targets other parts add (Jaeger's span metrics).
"""

from enum import StrEnum
from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart
from pydantic import Field, StringConstraints

from mesh_tracing import k8s as kube
from mesh_tracing.fields import DnsLabel, HttpUrl, Quantity
from mesh_tracing.helm import ChartSource, deep_merge, retain_claims
from mesh_tracing.spec import MISSING, SET, Problem, Spec, secret, wired
from mesh_tracing.ui_access import UiAccessArgs

TYPE = "mesh-tracing:index:Prometheus"
CHARTS = "https://prometheus-community.github.io/helm-charts"
CHART_VERSION = "29.27.0"
"""The `prometheus` chart (Prometheus v3.14.0)."""
RELEASE = "prometheus"
SERVICE_PORT = 80
"""The chart's Service port (`server.service.servicePort`); the server listens on 9090."""
SERVER_PORT = 9090
IMAGE_USER = 65534
"""`nobody`, as the chart runs the server."""
ENVOY_STATS_PORT = "http-envoy-prom"
ISTIOD_MONITORING_PORT = "http-monitoring"
REMOTE_WRITE_DIR = "/etc/prometheus-remote-write"
REMOTE_WRITE_KEY = "credential"
MONITORING_API = "monitoring.coreos.com/v1"
# The chart's own jobs that this stack does not need: Istio's jobs replace the annotation-based pod job
# (which would scrape every proxy twice, merged on 15020 and Envoy's own on 15090). Kept: `prometheus`
# itself and `kubernetes-nodes-cadvisor`, the proxies' CPU and memory.
CHART_JOBS_OFF = (
    "kubernetes-api-servers",
    "kubernetes-nodes",
    "kubernetes-service-endpoints",
    "kubernetes-service-endpoints-slow",
    "prometheus-pushgateway",
    "kubernetes-services",
    "kubernetes-pods",
    "kubernetes-pods-slow",
)
SUBCHARTS_OFF = ("alertmanager", "kube-state-metrics", "prometheus-node-exporter", "prometheus-pushgateway")

PromDuration = Annotated[str, StringConstraints(pattern=r"^([0-9]+(ms|s|m|h|d|w|y))+$")]
"""A Prometheus duration such as `15s`, `2d` or `4w`."""


class MetricsMode(StrEnum):
    """Where the mesh's metrics go."""

    INSTALL = "install"
    """Prometheus from the prometheus-community chart, in this stack."""
    EXISTING = "existing"
    """A Prometheus-compatible server the cluster already has (its `url`)."""
    NONE = "none"
    """No metrics: Grafana, Kiali and Jaeger's Monitor tab have nothing to read."""


class RemoteWriteArgs(Spec):
    """Remote write to a long-term store (Cortex, Mimir, Thanos Receive)."""

    url: HttpUrl
    """The receiver's push URL, e.g. `https://mimir.example.com/api/v1/push`."""
    username: str | None = None
    """Basic-auth user; without one, `credential` is sent as a bearer token."""
    credential: pulumi.Input[str] | None = secret()
    """The password (with `username`) or bearer token: a secret, kept in a Kubernetes Secret only."""

    def _rules(self) -> list[Problem]:
        if self.credential is None:
            return [
                Problem(("credential",), MISSING, "a secret: the password (with a username) or bearer token")
            ]
        return []

    def config(self) -> dict[str, Any]:
        """The `remote_write` entry, reading the credential from the mounted Secret."""
        path = f"{REMOTE_WRITE_DIR}/{REMOTE_WRITE_KEY}"
        if self.username:
            return {"url": self.url, "basic_auth": {"username": self.username, "password_file": path}}
        return {"url": self.url, "authorization": {"credentials_file": path}}


class PodPortTarget(Spec):
    """Pods to scrape by the name of a container port."""

    job: DnsLabel
    """The scrape job's name."""
    namespace: DnsLabel
    """The pods' namespace."""
    port_name: str
    """The container port's name."""
    path: str = "/metrics"
    """The metrics path."""


class PrometheusArgs(Spec):
    """The mesh's metrics: Prometheus installed here, an existing one, or none."""

    mode: MetricsMode = MetricsMode.INSTALL
    """`install`, `existing` or `none`."""
    url: HttpUrl | None = None
    """With `existing`: the Prometheus-compatible query URL, e.g.
    `http://prometheus-operated.monitoring.svc.cluster.local:9090`."""
    operator_monitors: bool = False
    """With `existing`: declare PodMonitor/ServiceMonitor resources for the Prometheus Operator."""
    monitor_labels: dict[str, str] = {}
    """Labels the operator's Prometheus selects monitors by, e.g. `{release: kube-prometheus-stack}`."""
    namespace: DnsLabel = "monitoring"
    """With `install`: the namespace, created with sidecar injection disabled."""
    chart: ChartSource = ChartSource(repository=CHARTS, version=CHART_VERSION)
    """The `prometheus` chart's repository (or a mirror) and version."""
    retention: PromDuration = "15d"
    """How long samples are kept."""
    volume_size: Quantity | None = "8Gi"
    """A persistent volume per replica of this size; none keeps samples in an emptyDir (lost on restart)."""
    storage_class: DnsLabel | None = None
    """The volumes' StorageClass; the cluster's default when unset."""
    replicas: int = Field(1, ge=1, le=5)
    """Servers. Two or more run as a StatefulSet (a volume each) with a PodDisruptionBudget; each scrapes
    every target (an HA pair)."""
    resources: kube.ResourceRequirements = kube.resources("200m", "512Mi", "1", "2Gi")
    """The server container's resources."""
    scrape_interval: PromDuration = "15s"
    """How often targets are scraped."""
    remote_write: RemoteWriteArgs | None = None
    """With `install`: also push samples to a long-term store."""
    ui: UiAccessArgs = UiAccessArgs()
    """With `install`: how people reach Prometheus's UI (it has no login: keep an allowlist)."""
    extra_values: dict[str, Any] = {}
    """Escape hatch: Helm values merged last into the chart (e.g. a mirror for its images)."""
    istio_namespace: DnsLabel = wired("istio-system", "TracedMesh, from the control plane")
    """Where istiod runs, for its scrape job."""
    pod_targets: list[PodPortTarget] = wired([], "TracedMesh, from Jaeger (its span metrics)")
    """More pods to scrape."""
    cluster_domain: str = kube.CLUSTER_DOMAIN
    """The cluster's DNS domain, for the Service's FQDN."""
    namespace_holds_data: bool = wired(False, "TracedMesh, when Grafana keeps its volume in this namespace")
    """Keep the namespace on delete, for another part's volume in it (its own volumes keep it anyway)."""

    def _rules(self) -> list[Problem]:
        problems = []
        mode = ("mode",)
        if self.mode is MetricsMode.EXISTING and self.url is None:
            problems.append(
                Problem(("url",), MISSING, "the existing Prometheus's URL, with {0} existing", (mode,))
            )
        if self.mode is not MetricsMode.EXISTING:
            if self.url is not None:
                problems.append(Problem(("url",), self.url, "unset unless {0} is existing", (mode,)))
            if self.operator_monitors:
                problems.append(Problem(("operator_monitors",), True, "only with {0} existing", (mode,)))
        if self.remote_write is not None and self.mode is not MetricsMode.INSTALL:
            problems.append(Problem(("remote_write",), SET, "only with {0} install", (mode,)))
        if self.ui.on_gateway and self.mode is not MetricsMode.INSTALL:
            problems.append(Problem(("ui", "access"), "gateway", "none unless {0} is install", (mode,)))
        return problems

    @property
    def service_host(self) -> str:
        return kube.service_fqdn(RELEASE, self.namespace, self.cluster_domain)

    @property
    def query_url(self) -> str | None:
        """Where Prometheus answers queries: ours, the existing one, or none."""
        if self.mode is MetricsMode.INSTALL:
            return f"http://{self.service_host}:{SERVICE_PORT}"
        return self.url


def _keep(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"action": "keep", "source_labels": [label], "regex": regex} for label, regex in pairs]


def istio_scrape_jobs(istio_namespace: str, targets: list[PodPortTarget]) -> dict[str, Any]:
    """Scrape jobs by name, as the chart's `scrapeConfigs` map takes them."""
    pod_labels = [
        {"action": "replace", "source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"action": "replace", "source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]
    jobs: dict[str, Any] = {
        "envoy-stats": {
            "metrics_path": "/stats/prometheus",
            "kubernetes_sd_configs": [{"role": "pod"}],
            "relabel_configs": _keep(("__meta_kubernetes_pod_container_port_name", ENVOY_STATS_PORT))
            + pod_labels,
        },
        "istiod": {
            "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [istio_namespace]}}],
            "relabel_configs": _keep(
                ("__meta_kubernetes_pod_label_app", "istiod"),
                ("__meta_kubernetes_pod_container_port_name", ISTIOD_MONITORING_PORT),
            )
            + pod_labels,
        },
    }
    for target in targets:
        jobs[target.job] = {
            "metrics_path": target.path,
            "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [target.namespace]}}],
            "relabel_configs": _keep(("__meta_kubernetes_pod_container_port_name", target.port_name))
            + pod_labels,
        }
    return jobs


class Prometheus(pulumi.ComponentResource):
    """Prometheus scraping the mesh, or the monitors for an existing one. Nothing in the mesh waits for it."""

    url: str | None
    """The query URL Grafana, Kiali and Jaeger read (none with mode `none`)."""
    namespace: pulumi.Output[str] | None
    """The namespace of the Prometheus installed here."""
    service_name: str | None
    """Its Service's name."""
    service_port: int | None
    """Its Service's port."""
    local_url: pulumi.Output[str] | None
    """Its UI's URL on localhost, after `port_forward`."""
    port_forward: pulumi.Output[str] | None
    """The `kubectl port-forward` command to its UI on localhost:9090."""

    def __init__(self, name: str, args: PrometheusArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = PrometheusArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        self._name, self._spec = name, spec
        self.url = spec.query_url
        self.namespace = None
        self.service_name = self.service_port = self.local_url = self.port_forward = None
        if spec.mode is MetricsMode.INSTALL:
            self._install()
        elif spec.mode is MetricsMode.EXISTING and spec.operator_monitors:
            self._monitors()
        self.register_outputs({"url": self.url, "namespace": self.namespace})

    def _install(self) -> None:
        spec, name = self._spec, self._name
        namespace = kube.unmeshed_namespace(
            f"{name}-namespace",
            spec.namespace,
            kube.labels(RELEASE, "namespace"),
            # Deleting a namespace deletes its claims: with volumes, it is kept with them.
            pulumi.ResourceOptions(
                parent=self, retain_on_delete=spec.volume_size is not None or spec.namespace_holds_data
            ),
        )
        self.namespace = namespace.metadata.name
        after_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        credential = None
        if spec.remote_write is not None and spec.remote_write.credential is not None:
            credential = k8s.core.v1.Secret(
                f"{name}-remote-write",
                metadata={
                    "name": f"{RELEASE}-remote-write",
                    "namespace": self.namespace,
                    "labels": kube.labels(RELEASE, "remote-write"),
                },
                type="Opaque",
                string_data={REMOTE_WRITE_KEY: pulumi.Output.secret(spec.remote_write.credential)},
                opts=after_namespace,
            )
        Chart(
            f"{name}-chart",
            name=RELEASE,
            namespace=self.namespace,
            values=deep_merge(
                self._values(credential.metadata.name if credential else None), spec.extra_values
            ),
            **spec.chart.chart_args("prometheus"),
            opts=pulumi.ResourceOptions(
                parent=self,
                # Samples outlive a destroy (a StatefulSet's claims do anyway); `make purge` removes them.
                transforms=[retain_claims] if spec.volume_size else [],
                depends_on=[namespace, *([credential] if credential else [])],
            ),
        )
        self.service_name, self.service_port = RELEASE, SERVICE_PORT
        self.local_url = pulumi.Output.from_input(f"http://localhost:{SERVER_PORT}")
        self.port_forward = kube.port_forward(self.namespace, RELEASE, SERVER_PORT, SERVICE_PORT)

    def _values(self, credential_secret: pulumi.Output[str] | None) -> dict[str, Any]:
        spec = self._spec
        ha = spec.replicas > 1
        volume: dict[str, Any] = {"enabled": spec.volume_size is not None}
        if spec.volume_size is not None:
            volume["size"] = spec.volume_size
            if spec.storage_class:
                volume["storageClass"] = spec.storage_class
        server: dict[str, Any] = {
            "fullnameOverride": RELEASE,
            "replicaCount": spec.replicas,
            "statefulSet": {"enabled": ha},
            "podDisruptionBudget": {"enabled": ha, **({"maxUnavailable": 1} if ha else {})},
            "retention": spec.retention,
            "global": {"scrape_interval": spec.scrape_interval, "evaluation_interval": spec.scrape_interval},
            "persistentVolume": volume,
            "resources": spec.resources.as_kubernetes(),
            "securityContext": kube.pod_security_context(IMAGE_USER, fs_group=IMAGE_USER),
            "containerSecurityContext": kube.container_security_context(),
        }
        if spec.remote_write is not None and credential_secret is not None:
            server["remoteWrite"] = [spec.remote_write.config()]
            server["extraSecretMounts"] = [
                {
                    "name": "remote-write",
                    "mountPath": REMOTE_WRITE_DIR,
                    "secretName": credential_secret,
                    "readOnly": True,
                }
            ]
        values: dict[str, Any] = {
            "server": server,
            "configmapReload": {
                "prometheus": {
                    "containerSecurityContext": kube.container_security_context(),
                    "resources": kube.resources("10m", "32Mi", "100m", "64Mi").as_kubernetes(),
                }
            },
            "scrapeConfigs": deep_merge(
                {job: {"enabled": False} for job in CHART_JOBS_OFF},
                istio_scrape_jobs(spec.istio_namespace, spec.pod_targets),
            ),
        }
        values |= {chart: {"enabled": False} for chart in SUBCHARTS_OFF}
        return values

    def _monitors(self) -> None:
        """The same targets as Prometheus Operator resources: a PodMonitor for the proxies' Envoy stats and
        the extra targets, a ServiceMonitor for istiod."""
        spec, name = self._spec, self._name
        opts = pulumi.ResourceOptions(parent=self)
        metadata = {"labels": {**kube.labels(RELEASE, "monitor"), **spec.monitor_labels}}
        pods: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
            (
                "envoy-stats",
                spec.istio_namespace,
                # Injected pods (sidecars and gateways) carry this label; `any` reaches every namespace.
                {"matchExpressions": [{"key": "security.istio.io/tlsMode", "operator": "Exists"}]},
                {"port": ENVOY_STATS_PORT, "path": "/stats/prometheus", "interval": spec.scrape_interval},
            )
        ]
        pods += [
            (t.job, t.namespace, {}, {"port": t.port_name, "path": t.path, "interval": spec.scrape_interval})
            for t in spec.pod_targets
        ]
        for job, namespace, selector, endpoint in pods:
            scope = {"any": True} if job == "envoy-stats" else {"matchNames": [namespace]}
            k8s.apiextensions.CustomResource(
                f"{name}-{job}",
                api_version=MONITORING_API,
                kind="PodMonitor",
                metadata={**metadata, "name": job, "namespace": namespace},
                spec={"selector": selector, "namespaceSelector": scope, "podMetricsEndpoints": [endpoint]},
                opts=opts,
            )
        k8s.apiextensions.CustomResource(
            f"{name}-istiod",
            api_version=MONITORING_API,
            kind="ServiceMonitor",
            metadata={**metadata, "name": "istiod", "namespace": spec.istio_namespace},
            spec={
                "selector": {"matchLabels": {"istio": "pilot"}},
                "namespaceSelector": {"matchNames": [spec.istio_namespace]},
                "endpoints": [{"port": ISTIOD_MONITORING_PORT, "interval": spec.scrape_interval}],
            },
            opts=opts,
        )
