"""Kiali, from the `kiali-server` chart: the mesh's graph, with traces from Jaeger and metrics from Prometheus.

The server chart, not the operator: Pulumi already reconciles what it declares, so a second reconciler (and
its cluster-wide RBAC, CRD and CR lifecycle) would add a moving part without adding a capability, and the
rendered objects show up in previews and policy checks like every other chart here.

Kiali 2.29 finds the Istio namespace and revisions itself (from the istiod pods); its settings for them
are deprecated and ignored, so none is set. Kiali runs in the control plane's namespace, where it expects
to be, outside the mesh.
"""

from enum import StrEnum
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi_kubernetes.helm.v4 import Chart
from pydantic import Field

from mesh_tracing import k8s as kube
from mesh_tracing.fields import HttpUrl
from mesh_tracing.helm import ChartSource, deep_merge
from mesh_tracing.spec import MISSING, SET, Problem, Spec, secret, wired
from mesh_tracing.ui_access import UiAccessArgs

TYPE = "mesh-tracing:index:Kiali"
CHARTS = "https://kiali.org/helm-charts"
CHART_VERSION = "2.29.0"
IMAGE_VERSION = "v2.29.0"
"""The chart's image tag is filled in at release time; pinned here to the chart's version."""
RELEASE = "kiali"
PORT = 20001
WEB_ROOT = "/kiali"
SIGNING_KEY_SECRET = "kiali-signing-key"
OIDC_SECRET_KEY = "oidc-secret"
"""The key Kiali reads the OpenID client secret from, in the Secret `deployment.secret_name`."""


class KialiAuth(StrEnum):
    """How Kiali identifies people."""

    ANONYMOUS = "anonymous"
    """No login: anyone who reaches Kiali uses its own service account. Dev only."""
    TOKEN = "token"
    """Log in with a Kubernetes token: people see what their own RBAC allows."""
    OPENID = "openid"
    """Log in with an OpenID Connect provider (the cluster's API server must trust it for RBAC)."""


class KialiOpenId(Spec):
    """The OpenID Connect provider Kiali logs people in with."""

    issuer_uri: HttpUrl
    """The provider's issuer URL, e.g. `https://login.example.com/realms/platform`."""
    client_id: str = Field(min_length=1)
    """Kiali's client id at the provider."""
    username_claim: str = "sub"
    """The ID token claim that names the user."""


class KialiArgs(Spec):
    """Kiali, wired to the mesh's Jaeger, Prometheus and Grafana."""

    enabled: bool = True
    """Run Kiali."""
    auth: KialiAuth = KialiAuth.TOKEN
    """`anonymous` (dev only), `token` or `openid`."""
    openid: KialiOpenId | None = None
    """The provider, with `auth: openid`."""
    openid_client_secret: pulumi.Input[str] | None = secret()
    """The OpenID client's secret (a secret), with `auth: openid`."""
    chart: ChartSource = ChartSource(repository=CHARTS, version=CHART_VERSION)
    """The `kiali-server` chart's repository (or a mirror) and version."""
    replicas: int = Field(1, ge=1, le=5)
    """Replicas; two or more adds a PodDisruptionBudget."""
    resources: kube.ResourceRequirements = kube.resources("10m", "64Mi", "500m", "1Gi")
    """The Kiali container's resources."""
    ui: UiAccessArgs = UiAccessArgs()
    """How people reach Kiali: port-forward, or a host of the gateway with an IP allowlist."""
    extra_values: dict[str, Any] = {}
    """Escape hatch: Helm values merged last into the chart (e.g. a mirror for its images)."""
    namespace: pulumi.Input[str] = wired("istio-system", "TracedMesh, the control plane's namespace")
    """Where Kiali runs: the control plane's namespace."""
    prometheus_url: HttpUrl = wired(
        "http://prometheus.monitoring.svc.cluster.local:80", "TracedMesh, from Prometheus"
    )
    """Where Kiali reads the mesh's metrics."""
    tracing_url: pulumi.Input[str] | None = wired(None, "TracedMesh, from Jaeger")
    """Jaeger's query gRPC API (`http://<query FQDN>:16685`); no traces in Kiali without it."""
    tracing_ui_url: pulumi.Input[str] | None = wired(None, "TracedMesh, from the Jaeger UI")
    """The Jaeger UI people open from Kiali."""
    grafana_url: pulumi.Input[str] | None = wired(None, "TracedMesh, from Grafana")
    """Grafana's in-cluster URL; no dashboard links without it."""
    grafana_ui_url: pulumi.Input[str] | None = wired(None, "TracedMesh, from Grafana's access")
    """The Grafana people open from Kiali."""

    def _rules(self) -> list[Problem]:
        problems = []
        auth = (("auth",),)
        if self.auth is KialiAuth.OPENID:
            if self.openid is None:
                problems.append(Problem(("openid",), MISSING, "the provider, with {0} openid", auth))
            if self.openid_client_secret is None:
                problems.append(
                    Problem(("openid_client_secret",), MISSING, "a secret, with {0} openid", auth)
                )
        elif self.openid is not None:
            problems.append(Problem(("openid",), SET, "only with {0} openid", auth))
        return problems


class Kiali(pulumi.ComponentResource):
    """Kiali, outside the mesh. Nothing in the mesh waits for it."""

    service_host: pulumi.Output[str]
    """FQDN of Kiali's Service."""
    service_port: int
    """Its Service's port."""
    url: pulumi.Output[str]
    """Kiali's in-cluster URL."""
    local_url: pulumi.Output[str]
    """Its URL on localhost, after `port_forward`."""
    port_forward: pulumi.Output[str]
    """The `kubectl port-forward` command to it on localhost:20001."""
    auth: str
    """How Kiali identifies people."""

    def __init__(self, name: str, args: KialiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = KialiArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = kube.labels(RELEASE, "secrets")
        # A fixed signing key: the chart would otherwise draw a new one at every render (a perpetual diff
        # that logs everyone out). Generated once, kept in the stack's state, mounted from this Secret.
        key = random.RandomPassword(f"{name}-signing-key", length=32, special=False, opts=child)
        signing = k8s.core.v1.Secret(
            f"{name}-signing-key",
            metadata={"name": SIGNING_KEY_SECRET, "namespace": spec.namespace, "labels": labels},
            type="Opaque",
            string_data={"key": key.result},
            opts=child,
        )
        prerequisites: list[pulumi.Resource] = [signing]
        if spec.auth is KialiAuth.OPENID and spec.openid_client_secret is not None:
            prerequisites.append(
                k8s.core.v1.Secret(
                    f"{name}-oidc",
                    metadata={"name": RELEASE, "namespace": spec.namespace, "labels": labels},
                    type="Opaque",
                    string_data={OIDC_SECRET_KEY: pulumi.Output.secret(spec.openid_client_secret)},
                    opts=child,
                )
            )
        Chart(
            f"{name}-chart",
            name=RELEASE,
            namespace=spec.namespace,
            values=deep_merge(self._values(spec), spec.extra_values),
            **spec.chart.chart_args("kiali-server"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=prerequisites),
        )
        namespace = pulumi.Output.from_input(spec.namespace)
        self.service_host = namespace.apply(lambda ns: kube.service_fqdn(RELEASE, ns))
        self.service_port = PORT
        self.url = pulumi.Output.concat("http://", self.service_host, f":{PORT}{WEB_ROOT}")
        self.local_url = pulumi.Output.from_input(f"http://localhost:{PORT}{WEB_ROOT}")
        self.port_forward = kube.port_forward(namespace, RELEASE, PORT, PORT)
        self.auth = spec.auth.value
        self.register_outputs({"url": self.url, "auth": self.auth})

    @staticmethod
    def _values(spec: KialiArgs) -> dict[str, Any]:
        auth: dict[str, Any] = {"strategy": spec.auth.value}
        if spec.openid is not None:
            auth["openid"] = {
                "issuer_uri": spec.openid.issuer_uri,
                "client_id": spec.openid.client_id,
                "username_claim": spec.openid.username_claim,
            }
        tracing: dict[str, Any] = {"enabled": spec.tracing_url is not None}
        if spec.tracing_url is not None:
            tracing |= {"provider": "jaeger", "internal_url": spec.tracing_url, "use_grpc": True}
            if spec.tracing_ui_url is not None:
                tracing["external_url"] = spec.tracing_ui_url
        grafana: dict[str, Any] = {"enabled": spec.grafana_url is not None}
        if spec.grafana_url is not None:
            grafana["internal_url"] = spec.grafana_url
            if spec.grafana_ui_url is not None:
                grafana["external_url"] = spec.grafana_ui_url
        deployment: dict[str, Any] = {
            "image_version": IMAGE_VERSION,
            "image_pull_policy": "IfNotPresent",
            "replicas": spec.replicas,
            "resources": spec.resources.as_kubernetes(),
            "security_context": kube.container_security_context(),
        }
        if spec.replicas > 1:
            deployment["pod_disruption_budget"] = {"spec": {"maxUnavailable": 1}}
        return {
            "auth": auth,
            "deployment": deployment,
            "login_token": {"signing_key": f"secret:{SIGNING_KEY_SECRET}:key"},
            "external_services": {
                "prometheus": {"url": spec.prometheus_url},
                "tracing": tracing,
                "grafana": grafana,
            },
        }
