"""The Istio ingress gateway: Istio's `gateway` chart in its own meshed namespace, exposed per environment,
with an Istio `Gateway` (and TLS from cert-manager) in front of the apps.
"""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart

from components import k8s as kube
from components.gateway_certificate import SOLVER_PORT, GatewayCertificate, solver_pod_labels
from components.helm import ChartSource, deep_merge
from components.options import Cloud, ExposureMode, TlsMode

HTTP_PORT, HTTPS_PORT = 80, 443
LOCAL_PORTS = {HTTP_PORT: 8080, HTTPS_PORT: 8443}
"""Local ports of the suggested `kubectl port-forward` for the `cluster` exposure."""
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


class GatewayTlsArgs(TypedDict):
    mode: TlsMode
    secret_name: NotRequired[str]
    """The TLS Secret (`existing`), or the one cert-manager writes. Default `<gateway name>-tls`."""
    acme_email: NotRequired[str | None]
    cert_manager: NotRequired[pulumi.Resource | None]
    """cert-manager's installation, which issuers and certificates wait for."""


class IngressGatewayArgs(TypedDict):
    chart_source: ChartSource
    """Istio's chart repository and version (the control plane's)."""
    revision: pulumi.Input[str]
    """The istiod revision whose injector fills in the gateway's proxy image."""
    injection_labels: pulumi.Input[Mapping[str, str]]
    """The control plane's injection labels, put on the gateway namespace."""
    istiod: pulumi.Resource
    """A ready istiod. Without it the gateway pods start with the unresolved image `auto`."""
    exposure: ExposureMode
    hosts: Sequence[str]
    """Hosts the Gateway serves (and the certificate covers)."""
    name: NotRequired[str]
    """Release, Deployment and Service name. Default `istio-ingressgateway`."""
    namespace: NotRequired[str]
    """Default `istio-ingress`."""
    cloud: NotRequired[Cloud | None]
    """For `internal`: whose annotations make the load balancer internal."""
    load_balancer_source_ranges: NotRequired[Sequence[str]]
    """For load balancers: CIDRs allowed to connect."""
    preserve_client_ip: NotRequired[bool]
    """`externalTrafficPolicy: Local` on load balancers, so IP allowlists see client addresses."""
    node_ports: NotRequired[Mapping[int, int]]
    """For `nodeport`: fixed node ports by service port (80, 443), e.g. for kind port mappings."""
    min_replicas: NotRequired[int]
    max_replicas: NotRequired[int]
    resources: NotRequired[Mapping[str, Mapping[str, str]]]
    tls: NotRequired[GatewayTlsArgs | None]
    """TLS on port 443, port 80 redirecting to it. Plain HTTP on port 80 when None."""
    extra_values: NotRequired[Mapping[str, Any]]
    """Escape hatch: Helm values merged last into the gateway chart."""


class IngressGateway(pulumi.ComponentResource):
    """Istio ingress gateway: Deployment and Service from the chart, Gateway resources, certificate."""

    namespace: pulumi.Output[str]
    gateway: pulumi.Output[str]
    """`<namespace>/<name>` of the Istio Gateway that VirtualServices bind to."""
    selector_labels: dict[str, str]
    """Labels of the gateway pods: the Gateway selector, and what policies select."""
    tls_mode: str
    credential_name: pulumi.Output[str] | None
    """TLS Secret served on port 443, None without TLS."""
    address: pulumi.Output[str]
    """Load balancer address, node port hint, or the port-forward command for `cluster`."""
    cluster_ip: pulumi.Output[str]
    """The gateway Service's cluster IP, for clients inside the cluster that must use the app host name."""
    ready: pulumi.Resource
    """The gateway chart (Deployment awaited ready)."""
    principal: pulumi.Output[str]
    """The gateway pods' mTLS identity, for AuthorizationPolicies of the apps behind it."""

    def __init__(
        self, name: str, args: IngressGatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh-tracing:index:IngressGateway", name, {}, opts)
        self._name = name
        self._args = args
        release = args.get("name", "istio-ingressgateway")
        self._release = release
        # One source for the pod labels: the chart is told them, and the Gateway selects by them.
        self.selector_labels = {"istio": release.removeprefix("istio-")}
        tls = args.get("tls")
        self.tls_mode = tls["mode"].value if tls else TlsMode.NONE.value

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            # The gateway's proxy is injected, so its namespace joins the mesh at the control plane's revision.
            metadata={"name": args.get("namespace", "istio-ingress"), "labels": args["injection_labels"]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = namespace.metadata.name
        self.principal = self.namespace.apply(lambda ns: kube.principal(ns, release))
        chart = Chart(
            f"{name}-chart",
            name=release,
            namespace=self.namespace,
            values=deep_merge(self._values(), args.get("extra_values", {})),
            **args["chart_source"].chart_args("gateway"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args["istiod"]]),
        )
        self.ready = chart

        certificate = None
        if tls is not None:
            certificate = GatewayCertificate(
                f"{name}-tls",
                {
                    "mode": tls["mode"],
                    "namespace": self.namespace,
                    "hosts": list(args["hosts"]),
                    "secret_name": tls.get("secret_name", f"{release}-tls"),
                    "acme_email": tls.get("acme_email"),
                    "cert_manager": tls.get("cert_manager"),
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.credential_name = certificate.secret_name if certificate else None
        self.gateway = self._gateways(certificate, [args["istiod"]])
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
        port = self.port
        exposure = self._args["exposure"]
        if exposure is ExposureMode.CLUSTER:
            return pulumi.Output.from_input(f"{self.scheme}://{host}:{LOCAL_PORTS[port]}")
        if exposure is ExposureMode.NODEPORT:
            node_port = self._args.get("node_ports", {}).get(port)
            return pulumi.Output.from_input(f"{self.scheme}://{host}:{node_port or '<node port>'}")
        return self.in_cluster_url(host)

    def in_cluster_url(self, host: str) -> pulumi.Output[str]:
        """The base URL of `host` on the gateway Service's own ports: for load balancers, and for clients in
        the cluster that resolve `host` to `cluster_ip`."""
        return pulumi.Output.from_input(f"{self.scheme}://{host}")

    # -- chart values -----------------------------------------------------------------------------

    def _values(self) -> dict[str, Any]:
        args = self._args
        minimum = args.get("min_replicas", 1)
        maximum = args.get("max_replicas", minimum)
        values: dict[str, Any] = {
            "revision": args["revision"],
            "labels": {"app": self._release, **self.selector_labels},
            # Named explicitly: the apps' AuthorizationPolicies allow this identity.
            "serviceAccount": {"name": self._release},
            "service": self._service_values(),
            "autoscaling": {"enabled": maximum > minimum, "minReplicas": minimum, "maxReplicas": maximum},
            "replicaCount": minimum,
            # The chart renders the budget only for more than one replica.
            "podDisruptionBudget": {"minAvailable": 1} if minimum > 1 else {},
        }
        if args.get("resources"):
            values["resources"] = dict(args["resources"])
        return values

    def _service_values(self) -> dict[str, Any]:
        args = self._args
        exposure = args["exposure"]
        service: dict[str, Any] = {"type": SERVICE_TYPES[exposure]}
        if exposure is ExposureMode.INTERNAL_LB:
            cloud = args.get("cloud")
            if cloud is None:
                raise ValueError(
                    "an internal load balancer needs the cloud whose annotations make it internal"
                )
            service["annotations"] = INTERNAL_LB_ANNOTATIONS[cloud]
        if SERVICE_TYPES[exposure] == "LoadBalancer":
            if args.get("load_balancer_source_ranges"):
                service["loadBalancerSourceRanges"] = list(args["load_balancer_source_ranges"])
            if args.get("preserve_client_ip"):
                service["externalTrafficPolicy"] = "Local"
        node_ports = args.get("node_ports", {})
        if exposure is ExposureMode.NODEPORT and node_ports:
            # Replacing the chart's port list means restating all of it (status, http2, https).
            service["ports"] = [
                {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
                *(
                    {
                        "name": port_name,
                        "port": port,
                        "protocol": "TCP",
                        "targetPort": port,
                        "nodePort": node_ports[port],
                    }
                    for port_name, port in (("http2", HTTP_PORT), ("https", HTTPS_PORT))
                    if port in node_ports
                ),
            ]
        return service

    # -- Istio resources --------------------------------------------------------------------------

    def _istio(
        self, kind: str, resource_name: str, name: str, spec: Any, depends_on: list[pulumi.Resource]
    ) -> Any:
        return kube.custom_resource(
            resource_name,
            kube.ISTIO_NETWORKING_API,
            kind,
            name,
            self.namespace,
            spec,
            pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

    def _gateways(
        self, certificate: GatewayCertificate | None, istio_ready: list[pulumi.Resource]
    ) -> pulumi.Output[str]:
        """The Gateway the apps bind to, and with TLS a second one on port 80 that only redirects (and,
        for ACME, answers HTTP-01 challenges), so app routes never mix with port 80."""
        hosts = list(self._args["hosts"])
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
            istio_ready,
        )
        if certificate is not None:
            self._http_redirect(certificate, hosts, istio_ready)
        return pulumi.Output.concat(self.namespace, "/", kube.name_of(main))

    def _http_redirect(
        self, certificate: GatewayCertificate, hosts: list[str], istio_ready: list[pulumi.Resource]
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
            istio_ready,
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
            istio_ready,
        )

    def _address(self, service: k8s.core.v1.Service) -> pulumi.Output[str]:
        exposure = self._args["exposure"]
        if exposure is ExposureMode.CLUSTER:
            port = self.port
            return pulumi.Output.format(
                "kubectl -n {0} port-forward svc/{1} {2}:{3}",
                self.namespace,
                self._release,
                LOCAL_PORTS[port],
                port,
            )
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
