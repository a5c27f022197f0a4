"""Grafana from the grafana-community chart, provisioned with the Prometheus and Jaeger datasources and Istio's
dashboards, so that a slow service's dashboard links to its traces."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi_kubernetes.helm.v4 import Chart

from mesh_tracing import istio_dashboards as boards
from mesh_tracing import k8s as kube
from mesh_tracing.fields import DnsLabel, HttpUrl, Quantity
from mesh_tracing.helm import ChartSource, deep_merge, retain_claims
from mesh_tracing.spec import Spec, secret, wired
from mesh_tracing.ui_access import UiAccessArgs

TYPE = "mesh-tracing:index:Grafana"
CHARTS = "https://grafana-community.github.io/helm-charts"
CHART_VERSION = "12.11.1"
"""The `grafana` chart (Grafana 13.2.0); it moved from grafana/helm-charts, deprecated since 2026-01-30."""
RELEASE = "grafana"
SERVICE_PORT = 80
"""The chart's Service port (`service.port`); Grafana listens on 3000."""
UI_PORT = 3000
ADMIN_USER = "admin"
USER_KEY, PASSWORD_KEY = "admin-user", "admin-password"
"""The keys the chart reads the admin credentials from (`admin.userKey`, `admin.passwordKey`)."""
DASHBOARD_PROVIDER = "istio"
IMAGE_USER = 472
"""The `grafana` user of the image, as the chart runs it."""


class GrafanaArgs(Spec):
    """Grafana with the mesh's datasources and Istio's dashboards."""

    enabled: bool = True
    """Run Grafana."""
    namespace: DnsLabel = "monitoring"
    """Namespace, created with sidecar injection disabled (shared with Prometheus when both run here)."""
    chart: ChartSource = ChartSource(repository=CHARTS, version=CHART_VERSION)
    """The `grafana` chart's repository (or a mirror) and version."""
    anonymous: bool = False
    """Let anyone who reaches Grafana view dashboards without logging in (as Viewer). Dev only: staging and
    prod refuse it."""
    admin_password: pulumi.Input[str] | None = secret()
    """The `admin` user's password (a secret); generated once and kept in the stack's state when unset."""
    volume_size: Quantity | None = None
    """A persistent volume of this size for Grafana's database (users, edits); none keeps it in an emptyDir.
    The datasources and dashboards are provisioned, so they survive either way."""
    storage_class: DnsLabel | None = None
    """The volume's StorageClass; the cluster's default when unset."""
    resources: kube.ResourceRequirements = kube.resources("100m", "256Mi", "500m", "512Mi")
    """The Grafana container's resources."""
    ui: UiAccessArgs = UiAccessArgs()
    """How people reach Grafana: port-forward, or a host of the gateway with an IP allowlist."""
    extra_values: dict[str, Any] = {}
    """Escape hatch: Helm values merged last into the chart (e.g. a mirror for its images)."""
    prometheus_url: HttpUrl = wired(
        "http://prometheus.monitoring.svc.cluster.local:80", "TracedMesh, from Prometheus"
    )
    """The Prometheus datasource's URL."""
    jaeger_url: pulumi.Input[str] | None = wired(None, "TracedMesh, from Jaeger")
    """The Jaeger query Service's in-cluster URL, for the Jaeger datasource."""
    jaeger_ui_url: pulumi.Input[str] | None = wired(None, "TracedMesh, from the Jaeger UI")
    """The Jaeger UI people open from a dashboard (the gateway host, or localhost after port-forward)."""
    external_url: pulumi.Input[str] | None = wired(None, "TracedMesh, from the gateway")
    """Grafana's own URL on the gateway, for the links it writes."""
    shared_namespace: pulumi.Input[str] | None = wired(None, "TracedMesh, from Prometheus")
    """A namespace created elsewhere (Prometheus's) to run in, instead of creating `namespace`."""

    def datasources(self) -> list[dict[str, Any]]:
        sources: list[dict[str, Any]] = [
            {
                "name": "Prometheus",
                "type": "prometheus",
                "uid": boards.PROMETHEUS_UID,
                "url": self.prometheus_url,
                "access": "proxy",
                "isDefault": True,
            }
        ]
        if self.jaeger_url is not None:
            sources.append(
                {
                    "name": "Jaeger",
                    "type": "jaeger",
                    "uid": boards.JAEGER_UID,
                    "url": self.jaeger_url,
                    "access": "proxy",
                }
            )
        return sources


class Grafana(pulumi.ComponentResource):
    """Grafana with provisioned datasources and dashboards. Nothing in the mesh waits for it."""

    namespace: pulumi.Output[str]
    """Grafana's namespace."""
    service_host: pulumi.Output[str]
    """FQDN of its Service."""
    service_port: int
    """Its Service's port."""
    url: pulumi.Output[str]
    """Its in-cluster URL (Kiali links to it)."""
    local_url: pulumi.Output[str]
    """Its URL on localhost, after `port_forward`."""
    port_forward: pulumi.Output[str]
    """The `kubectl port-forward` command to it on localhost:3000."""
    admin_password: pulumi.Output[str]
    """The `admin` user's password (secret)."""

    def __init__(self, name: str, args: GrafanaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = GrafanaArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = kube.labels(RELEASE, "dashboards")
        if spec.shared_namespace is not None:
            self.namespace = pulumi.Output.from_input(spec.shared_namespace)
        else:
            namespace = kube.unmeshed_namespace(
                f"{name}-namespace",
                spec.namespace,
                kube.labels(RELEASE, "namespace"),
                # Deleting a namespace deletes its claims: with a volume, it is kept with it.
                pulumi.ResourceOptions(parent=self, retain_on_delete=spec.volume_size is not None),
            )
            self.namespace = namespace.metadata.name

        password = spec.admin_password
        if password is None:
            # Generated once and kept (encrypted) in the stack's state: no perpetual diff, no plain text.
            password = random.RandomPassword(
                f"{name}-admin-password", length=32, special=False, opts=child
            ).result
        self.admin_password = pulumi.Output.secret(password)
        admin = k8s.core.v1.Secret(
            f"{name}-admin",
            metadata={"name": f"{RELEASE}-admin", "namespace": self.namespace, "labels": labels},
            type="Opaque",
            string_data={USER_KEY: ADMIN_USER, PASSWORD_KEY: self.admin_password},
            opts=child,
        )
        jaeger_ui = pulumi.Output.from_input(spec.jaeger_ui_url or "http://localhost:16686")
        dashboards = k8s.core.v1.ConfigMap(
            f"{name}-dashboards",
            metadata={"name": f"{RELEASE}-istio-dashboards", "namespace": self.namespace, "labels": labels},
            data=jaeger_ui.apply(boards.dashboards),
            opts=child,
        )
        Chart(
            f"{name}-chart",
            name=RELEASE,
            namespace=self.namespace,
            values=deep_merge(
                self._values(spec, admin.metadata.name, dashboards.metadata.name), spec.extra_values
            ),
            **spec.chart.chart_args("grafana"),
            opts=pulumi.ResourceOptions(
                parent=self,
                # Grafana's database (users, edits) outlives a destroy; `make purge` removes it.
                transforms=[retain_claims] if spec.volume_size else [],
                depends_on=[admin, dashboards],
            ),
        )
        self.service_host = self.namespace.apply(lambda ns: kube.service_fqdn(RELEASE, ns))
        self.service_port = SERVICE_PORT
        self.url = pulumi.Output.concat("http://", self.service_host, f":{SERVICE_PORT}")
        self.local_url = pulumi.Output.from_input(f"http://localhost:{UI_PORT}")
        self.port_forward = kube.port_forward(self.namespace, RELEASE, UI_PORT, SERVICE_PORT)
        self.register_outputs({"url": self.url, "admin_password": self.admin_password})

    @staticmethod
    def _values(
        spec: GrafanaArgs, admin_secret: pulumi.Input[str], dashboards: pulumi.Input[str]
    ) -> dict[str, Any]:
        ini: dict[str, Any] = {
            "analytics": {"check_for_updates": False, "reporting_enabled": False},
            "auth.anonymous": {
                "enabled": spec.anonymous,
                **({"org_role": "Viewer"} if spec.anonymous else {}),
            },
        }
        if spec.external_url is not None:
            ini["server"] = {"root_url": spec.external_url}
        volume: dict[str, Any] = {"enabled": spec.volume_size is not None}
        if spec.volume_size is not None:
            volume["size"] = spec.volume_size
            if spec.storage_class:
                volume["storageClassName"] = spec.storage_class
        return {
            # One replica: Grafana's own database (SQLite on the volume) is not shared between replicas.
            "replicas": 1,
            "admin": {"existingSecret": admin_secret, "userKey": USER_KEY, "passwordKey": PASSWORD_KEY},
            "grafana.ini": ini,
            "datasources": {"datasources.yaml": {"apiVersion": 1, "datasources": spec.datasources()}},
            "dashboardProviders": {
                "dashboardproviders.yaml": {
                    "apiVersion": 1,
                    "providers": [
                        {
                            "name": DASHBOARD_PROVIDER,
                            "folder": boards.FOLDER,
                            "type": "file",
                            "disableDeletion": True,
                            "options": {"path": f"/var/lib/grafana/dashboards/{DASHBOARD_PROVIDER}"},
                        }
                    ],
                }
            },
            "dashboardsConfigMaps": {DASHBOARD_PROVIDER: dashboards},
            "persistence": volume,
            # A ReadWriteOnce volume is held by the old pod: it must stop before the new one starts.
            "deploymentStrategy": {"type": "Recreate" if spec.volume_size is not None else "RollingUpdate"},
            # The init container that chowns the volume runs as root with CHOWN; fsGroup sets ownership.
            "initChownData": {"enabled": False},
            "testFramework": {"enabled": False},
            "resources": spec.resources.as_kubernetes(),
            "securityContext": kube.pod_security_context(IMAGE_USER, fs_group=IMAGE_USER),
            "containerSecurityContext": kube.container_security_context(),
            # With a read-only root filesystem, what Grafana writes outside its data volume needs its own.
            "extraEmptyDirMounts": [
                {"name": "search-index", "mountPath": "/var/lib/grafana-search"},
                {"name": "logs", "mountPath": "/var/log/grafana"},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }
