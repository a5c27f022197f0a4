"""The Istio ingress gateway: Istio's `gateway` chart in its own meshed namespace, exposed per environment,
with an Istio `Gateway` (and TLS from cert-manager) in front of the apps.
"""

from enum import StrEnum
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart
from pydantic import Field

from mesh_tracing import k8s as kube
from mesh_tracing.fields import Cidr, DnsLabel, GatewayHost, NodePort
from mesh_tracing.gateway_certificate import (
    SOLVER_PORT,
    GatewayCertificate,
    GatewayCertificateArgs,
    TlsMode,
    solver_pod_labels,
)
from mesh_tracing.helm import ChartSource, deep_merge
from mesh_tracing.istio_control_plane import ISTIO_CHARTS, ISTIO_VERSION, REVISION_LABEL
from mesh_tracing.jaeger_ui import JaegerUiArgs
from mesh_tracing.spec import MISSING, SET, Problem, Spec, wired

TYPE = "mesh-tracing:index:IngressGateway"
HTTP_PORT, HTTPS_PORT = 80, 443
STATUS_PORT = 15021
LOCAL_PORTS = {HTTP_PORT: 8080, HTTPS_PORT: 8443}
"""Local ports of the suggested `kubectl port-forward` for the `cluster` exposure."""


class ExposureMode(StrEnum):
    """How the ingress gateway's Service is reached."""

    CLUSTER = "cluster"
    """ClusterIP only; reach it with `kubectl port-forward`."""
    NODEPORT = "nodeport"
    """A NodePort, for kind or minikube."""
    INTERNAL_LB = "internal"
    """A load balancer kept inside the cloud network."""
    PUBLIC_LB = "public"
    """A public load balancer."""

    @property
    def load_balanced(self) -> bool:
        return self in (ExposureMode.INTERNAL_LB, ExposureMode.PUBLIC_LB)


class Cloud(StrEnum):
    """The cloud whose load-balancer annotations make an internal load balancer."""

    AWS = "aws"
    """AWS (in-tree controller and AWS Load Balancer Controller)."""
    GCP = "gcp"
    """Google Cloud."""
    AZURE = "azure"
    """Azure."""


INTERNAL_LB_ANNOTATIONS: dict[Cloud, dict[str, str]] = {
    # In-tree controller and AWS Load Balancer Controller annotations; each ignores the other's.
    Cloud.AWS: {
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    },
    Cloud.GCP: {"networking.gke.io/load-balancer-type": "Internal"},
    Cloud.AZURE: {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
}
SERVICE_TYPES = {
    ExposureMode.CLUSTER: "ClusterIP",
    ExposureMode.NODEPORT: "NodePort",
    ExposureMode.INTERNAL_LB: "LoadBalancer",
    ExposureMode.PUBLIC_LB: "LoadBalancer",
}


class NodePorts(Spec):
    """Fixed node ports of the `nodeport` exposure (30000-32767), e.g. for kind port mappings."""

    http: NodePort | None = None
    """Node port of the Service's port 80; Kubernetes picks one when unset."""
    https: NodePort | None = None
    """Node port of the Service's port 443; Kubernetes picks one when unset."""

    def by_port(self) -> dict[int, int]:
        return {port: number for port, number in ((HTTP_PORT, self.http), (HTTPS_PORT, self.https)) if number}


class IngressGatewayArgs(Spec):
    """The ingress gateway: exposure, hosts, scale and TLS."""

    exposure: ExposureMode
    """`cluster`, `nodeport`, `internal` or `public`."""
    hosts: list[GatewayHost] = Field(min_length=1)
    """Hosts the apps are served on: DNS names, `*.domain`, or `*` (any host, without TLS)."""
    name: DnsLabel = "istio-ingressgateway"
    """Release, Deployment, Service and ServiceAccount name."""
    namespace: DnsLabel = "istio-ingress"
    """Namespace, created with the control plane's injection label."""
    cloud: Cloud | None = None
    """For `internal`: whose annotations make the load balancer internal."""
    load_balancer_source_ranges: list[Cidr] = []
    """For load balancers: CIDRs allowed to connect."""
    node_ports: NodePorts | None = None
    """For `nodeport`: fixed node ports."""
    min_replicas: int = Field(1, ge=1, le=50)
    """Replicas, or the autoscaler's minimum when `max_replicas` is higher. Two or more adds a
    PodDisruptionBudget."""
    max_replicas: int = Field(1, ge=1, le=100)
    """The autoscaler's maximum; equal to `min_replicas` means a fixed replica count."""
    resources: kube.ResourceRequirements = kube.resources("100m", "128Mi", "2", "1Gi")
    """Gateway proxy resources."""
    tls: GatewayCertificateArgs = GatewayCertificateArgs()
    """TLS on port 443, port 80 redirecting to it; plain HTTP on port 80 with mode `none`."""
    jaeger_ui: JaegerUiArgs = JaegerUiArgs()
    """The Jaeger UI: with `gateway`, its host is served here too (with TLS), and client addresses are kept
    for its allowlist."""
    extra_values: dict[str, Any] = {}
    """Escape hatch: Helm values merged last into the gateway chart."""
    chart: ChartSource = wired(
        ChartSource(repository=ISTIO_CHARTS, version=ISTIO_VERSION), "TracedMesh, the control plane's charts"
    )
    """Istio's chart repository and version."""
    revision: pulumi.Input[str] | None = wired(None, "TracedMesh, from the control plane")
    """The istiod revision (or revision tag) whose injector fills in the gateway's proxy; the default
    revision when unset."""
    sidecar_revision: str | None = wired(None, "TracedMesh, the revision its tag points at")
    """The istiod revision behind `revision` (a tag), recorded on the pod template: when the tag moves, the
    pods restart and get the new revision's sidecars."""
    ui_hosts: list[str] = wired([], "TracedMesh, from the UIs it puts on the gateway")
    """Hosts of other UIs (Grafana, Kiali, Prometheus) served here too, with TLS, behind their allowlists."""

    def _rules(self) -> list[Problem]:
        problems = kube.replica_range(self.min_replicas, self.max_replicas)
        if self.exposure is ExposureMode.INTERNAL_LB and self.cloud is None:
            problems.append(
                Problem(
                    ("cloud",),
                    MISSING,
                    "aws, gcp or azure: whose annotations make the load balancer internal",
                )
            )
        if self.load_balancer_source_ranges and not self.exposure.load_balanced:
            problems.append(
                Problem(
                    ("load_balancer_source_ranges",),
                    self.load_balancer_source_ranges,
                    "only with {0} internal or public",
                    (("exposure",),),
                )
            )
        if self.node_ports is not None and self.exposure is not ExposureMode.NODEPORT:
            problems.append(Problem(("node_ports",), SET, "only with {0} nodeport", (("exposure",),)))
        problems += self._host_problems()
        if self.ui_hosts and self.tls.mode is TlsMode.NONE:
            problems.append(Problem(("tls", "mode"), "none", "a TLS mode while UIs are on the gateway"))
        if self.jaeger_ui.on_gateway:
            if self.jaeger_ui.host in self.hosts:
                problems.append(
                    Problem(
                        ("jaeger_ui", "host"),
                        self.jaeger_ui.host,
                        "a host of its own, not one of {0}",
                        (("hosts",),),
                    )
                )
            if self.tls.mode is TlsMode.NONE:
                problems.append(
                    Problem(
                        ("tls", "mode"), "none", "a TLS mode while {0} is gateway", (("jaeger_ui", "access"),)
                    )
                )
        return problems

    def _host_problems(self) -> list[Problem]:
        problems = []
        for index, host in enumerate(self.hosts):
            if host == "*" and self.tls.mode is not TlsMode.NONE:
                problems.append(
                    Problem(
                        ("hosts", index),
                        host,
                        "a DNS name: a certificate cannot cover '*' (or set {0} none)",
                        (("tls", "mode"),),
                    )
                )
            elif host.startswith("*.") and self.tls.mode.acme:
                problems.append(
                    Problem(
                        ("hosts", index), host, "a DNS name: ACME HTTP-01 cannot issue wildcard certificates"
                    )
                )
        return problems

    @property
    def served_hosts(self) -> list[str]:
        """The app hosts, plus the UIs' on this gateway (the Jaeger UI's, and those TracedMesh adds)."""
        ui = self.jaeger_ui
        return [*self.hosts, *([ui.host] if ui.on_gateway and ui.host else []), *self.ui_hosts]

    @property
    def serves_uis(self) -> bool:
        return self.jaeger_ui.on_gateway or bool(self.ui_hosts)


class IngressGateway(pulumi.ComponentResource):
    """Istio ingress gateway: Deployment and Service from the chart, Gateway resources, certificate. Pass a
    ready istiod in `depends_on`: the gateway's proxy image comes from its injector."""

    namespace: pulumi.Output[str]
    """The gateway's namespace."""
    gateway: pulumi.Output[str]
    """`<namespace>/<name>` of the Istio Gateway that VirtualServices bind to."""
    selector_labels: dict[str, str]
    """Labels of the gateway pods: the Gateway selector, and what policies select."""
    tls_mode: str
    """Where the certificate comes from (`none` without TLS)."""
    credential_name: pulumi.Output[str] | None
    """TLS Secret served on port 443, None without TLS."""
    address: pulumi.Output[str]
    """Load balancer address, node port hint, or the port-forward command for `cluster`."""
    cluster_ip: pulumi.Output[str]
    """The gateway Service's cluster IP, for clients inside the cluster that must use the app host name."""
    principal: pulumi.Output[str]
    """The gateway pods' mTLS identity, for AuthorizationPolicies of the apps behind it."""

    def __init__(
        self, name: str, args: IngressGatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = IngressGatewayArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        self._name = name
        self._spec = spec
        release = spec.name
        self._release = release
        # One source for the pod labels: the chart is told them, and the Gateway selects by them.
        self.selector_labels = {"istio": release.removeprefix("istio-")}
        self.tls_mode = spec.tls.mode.value
        after_istiod = kube.gated(self, opts)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            # The gateway's proxy is injected, so its namespace joins the mesh at the control plane's revision.
            metadata={"name": spec.namespace, "labels": self._injection_labels()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = namespace.metadata.name
        self.principal = self.namespace.apply(lambda ns: kube.principal(ns, release))
        chart = Chart(
            f"{name}-chart",
            name=release,
            namespace=self.namespace,
            values=deep_merge(self._values(), spec.extra_values),
            **spec.chart.chart_args("gateway"),
            opts=after_istiod,
        )

        certificate = None
        if spec.tls.mode is not TlsMode.NONE:
            certificate = GatewayCertificate(
                f"{name}-tls",
                spec.tls.model_copy(
                    update={
                        "namespace": self.namespace,
                        "hosts": spec.served_hosts,
                        "secret_name": f"{release}-tls",
                    }
                ),
                opts=after_istiod,
            )
        self.credential_name = certificate.secret_name if certificate else None
        self.gateway = self._gateways(certificate, after_istiod)
        # Read the chart's Service once it exists; during a first preview the id is unknown and no read
        # happens. A read never waits for a load balancer.
        service = k8s.core.v1.Service.get(
            f"{name}-service",
            pulumi.Output.all(self.namespace, chart.resources).apply(lambda parts: f"{parts[0]}/{release}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[chart]),
        )
        self.cluster_ip = service.spec.apply(lambda spec: spec.cluster_ip)
        self.address = self._address(service)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "gateway": self.gateway,
                "address": self.address,
                "cluster_ip": self.cluster_ip,
            }
        )

    @property
    def scheme(self) -> str:
        return "http" if self.credential_name is None else "https"

    @property
    def port(self) -> int:
        """The Service port apps are served on: 443 with TLS, 80 without."""
        return HTTP_PORT if self.credential_name is None else HTTPS_PORT

    def url(self, host: str) -> pulumi.Output[str]:
        """The base URL clients use for `host` with this exposure."""
        exposure = self._spec.exposure
        if exposure is ExposureMode.CLUSTER:
            return pulumi.Output.from_input(f"{self.scheme}://{host}:{LOCAL_PORTS[self.port]}")
        if exposure is ExposureMode.NODEPORT:
            node_port = (self._spec.node_ports or NodePorts()).by_port().get(self.port)
            return pulumi.Output.from_input(f"{self.scheme}://{host}:{node_port or '<node port>'}")
        return self.in_cluster_url(host)

    def in_cluster_url(self, host: str) -> pulumi.Output[str]:
        """The base URL of `host` on the gateway Service's own ports: for load balancers, and for clients in
        the cluster that resolve `host` to `cluster_ip`."""
        return pulumi.Output.from_input(f"{self.scheme}://{host}")

    # -- chart values (only keys the gateway chart reads: its values.schema.json refuses others) --------

    def _injection_labels(self) -> pulumi.Input[dict[str, str]]:
        if self._spec.revision is None:
            return {"istio-injection": "enabled"}
        return pulumi.Output.from_input(self._spec.revision).apply(lambda rev: {REVISION_LABEL: rev})

    def _values(self) -> dict[str, Any]:
        spec = self._spec
        values: dict[str, Any] = {
            "labels": {"app": self._release, **self.selector_labels},
            # Named explicitly: the apps' AuthorizationPolicies allow this identity.
            "serviceAccount": {"name": self._release},
            "service": self._service_values(),
            "autoscaling": {
                "enabled": spec.max_replicas > spec.min_replicas,
                "minReplicas": spec.min_replicas,
                "maxReplicas": spec.max_replicas,
            },
            "replicaCount": spec.min_replicas,
            # The chart renders the budget only for more than one replica.
            "podDisruptionBudget": {"minAvailable": 1} if spec.min_replicas > 1 else {},
            "resources": spec.resources.as_kubernetes(),
        }
        if spec.revision is not None:
            values["revision"] = spec.revision
        if spec.sidecar_revision:
            values["podAnnotations"] = kube.sidecar_revision(spec.sidecar_revision)
        return values

    def _service_values(self) -> dict[str, Any]:
        spec = self._spec
        service: dict[str, Any] = {"type": SERVICE_TYPES[spec.exposure]}
        if spec.exposure is ExposureMode.INTERNAL_LB and spec.cloud is not None:
            service["annotations"] = INTERNAL_LB_ANNOTATIONS[spec.cloud]
        if spec.exposure.load_balanced:
            if spec.load_balancer_source_ranges:
                service["loadBalancerSourceRanges"] = list(spec.load_balancer_source_ranges)
            if spec.serves_uis:
                # Client addresses must survive the load balancer for the UI's allowlist to mean anything.
                service["externalTrafficPolicy"] = "Local"
        node_ports = (spec.node_ports or NodePorts()).by_port()
        if spec.exposure is ExposureMode.NODEPORT and node_ports:
            # A `ports` list replaces the chart's whole list: restate every port, fixing only the node ports
            # that are set (Kubernetes picks the others), or the other port and the redirect disappear.
            service["ports"] = [
                {"name": "status-port", "port": STATUS_PORT, "protocol": "TCP", "targetPort": STATUS_PORT},
                *(
                    {
                        "name": port_name,
                        "port": port,
                        "protocol": "TCP",
                        "targetPort": port,
                        **({"nodePort": node_ports[port]} if port in node_ports else {}),
                    }
                    for port_name, port in (("http2", HTTP_PORT), ("https", HTTPS_PORT))
                ),
            ]
        return service

    # -- Istio resources --------------------------------------------------------------------------

    def _istio(
        self, kind: str, resource_name: str, name: str, spec: Any, opts: pulumi.ResourceOptions
    ) -> Any:
        return kube.custom_resource(
            resource_name, kube.ISTIO_NETWORKING_API, kind, name, self.namespace, spec, opts
        )

    def _gateways(
        self, certificate: GatewayCertificate | None, opts: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """The Gateway the apps bind to, and with TLS a second one on port 80 that only redirects (and,
        for ACME, answers HTTP-01 challenges), so app routes never mix with port 80."""
        hosts = self._spec.served_hosts
        if certificate is None:
            server = {"port": {"number": HTTP_PORT, "name": "http", "protocol": "HTTP"}, "hosts": hosts}
        else:
            server = {
                "port": {"number": HTTPS_PORT, "name": "https", "protocol": "HTTPS"},
                "hosts": hosts,
                "tls": {"mode": "SIMPLE", "credentialName": certificate.secret_name},
            }
        main = self._istio(
            "Gateway",
            f"{self._name}-gateway",
            self._release,
            {"selector": self.selector_labels, "servers": [server]},
            opts,
        )
        if certificate is not None:
            self._http_redirect(certificate, hosts, opts)
        return pulumi.Output.concat(self.namespace, "/", kube.name_of(main))

    def _http_redirect(
        self, certificate: GatewayCertificate, hosts: list[str], opts: pulumi.ResourceOptions
    ) -> None:
        name = f"{self._release}-http-redirect"
        server: dict[str, Any] = {
            "port": {"number": HTTP_PORT, "name": "http", "protocol": "HTTP"},
            "hosts": hosts,
        }
        if not certificate.acme_http01:
            server["tls"] = {"httpsRedirect": True}
        gateway = self._istio(
            "Gateway",
            f"{self._name}-http-redirect",
            name,
            {"selector": self.selector_labels, "servers": [server]},
            opts,
        )
        if not certificate.acme_http01:
            return
        # A redirect on the Gateway would also redirect ACME challenges (istio#33593): route them first.
        routes: list[dict[str, Any]] = []
        for host in hosts:
            solver = k8s.core.v1.Service(
                f"{self._name}-acme-solver-{host}",
                metadata={
                    "name": f"acme-solver-{solver_pod_labels(host)['acme.cert-manager.io/http-domain']}",
                    "namespace": self.namespace,
                    "labels": kube.labels("acme-solver", "tls"),
                },
                spec={
                    "selector": solver_pod_labels(host),
                    "ports": [
                        {"name": "http", "port": SOLVER_PORT, "targetPort": SOLVER_PORT, "protocol": "TCP"}
                    ],
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
            destination = pulumi.Output.all(solver.metadata.name, self.namespace).apply(
                lambda parts: kube.service_fqdn(parts[0], parts[1])
            )
            routes.append(
                {
                    "name": f"acme-{host}",
                    "match": [
                        {"authority": {"exact": host}, "uri": {"prefix": "/.well-known/acme-challenge/"}}
                    ],
                    "route": [{"destination": {"host": destination, "port": {"number": SOLVER_PORT}}}],
                }
            )
        routes.append({"name": "https-redirect", "redirect": {"scheme": "https", "redirectCode": 301}})
        self._istio(
            "VirtualService",
            f"{self._name}-http-redirect-routes",
            name,
            {
                "hosts": hosts,
                "gateways": [pulumi.Output.concat(self.namespace, "/", kube.name_of(gateway))],
                "http": routes,
            },
            opts,
        )

    def _address(self, service: k8s.core.v1.Service) -> pulumi.Output[str]:
        exposure = self._spec.exposure
        if exposure is ExposureMode.CLUSTER:
            return kube.port_forward(self.namespace, self._release, LOCAL_PORTS[self.port], self.port)
        if exposure is ExposureMode.NODEPORT:
            return pulumi.Output.format(
                "any node address; kubectl -n {0} get svc {1}", self.namespace, self._release
            )
        return service.status.apply(_load_balancer_address)


def _load_balancer_address(status: Any) -> str:
    ingress = (getattr(getattr(status, "load_balancer", None), "ingress", None) or [None])[0]
    if ingress is None:
        return "(load balancer address pending)"
    return str(getattr(ingress, "hostname", None) or getattr(ingress, "ip", None))
