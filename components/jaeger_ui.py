"""The Jaeger UI on a host of the ingress gateway. Jaeger has no authentication of its own, so the host is
closed to every source outside an IP allowlist."""

from enum import StrEnum

import pulumi

from mesh_tracing import jaeger_config as cfg
from mesh_tracing import k8s as kube
from mesh_tracing.fields import Cidr, Hostname
from mesh_tracing.spec import MISSING, Problem, Spec, SpecError, wired

TYPE = "mesh-tracing:index:JaegerUi"


class JaegerUiAccess(StrEnum):
    """How people reach the Jaeger UI."""

    NONE = "none"
    """With `kubectl port-forward` to the query Service."""
    GATEWAY = "gateway"
    """On a host of the ingress gateway, with TLS and a source-IP allowlist."""


class JaegerUiArgs(Spec):
    """The Jaeger UI: reached by port-forward, or on its own host of the gateway."""

    access: JaegerUiAccess = JaegerUiAccess.NONE
    """`none` (port-forward) or `gateway`."""
    host: Hostname | None = None
    """Host name of the UI on the gateway, e.g. `jaeger.example.com` (with `gateway`)."""
    allowed_source_ranges: list[Cidr] = []
    """CIDRs that may reach the UI; every other source gets 403 from the gateway (with `gateway`)."""
    gateway: pulumi.Input[str] = wired("istio-ingress/istio-ingressgateway", "TracedMesh, from the gateway")
    """`<namespace>/<name>` of the Istio Gateway that serves the host (with TLS)."""
    gateway_namespace: pulumi.Input[str] = wired("istio-ingress", "TracedMesh, from the gateway")
    """The gateway's namespace, where the route and the allowlist live."""
    gateway_selector: dict[str, str] = wired({"istio": "ingressgateway"}, "TracedMesh, from the gateway")
    """Labels of the gateway pods, for the allowlist policy."""
    query_host: pulumi.Input[str] = wired("jaeger-query.tracing.svc.cluster.local", "TracedMesh, from Jaeger")
    """FQDN of Jaeger's query Service."""
    query_port: int = wired(cfg.QUERY_HTTP_PORT, "TracedMesh, from Jaeger")
    """Port of Jaeger's query Service (UI and API)."""

    def _rules(self) -> list[Problem]:
        if self.access is not JaegerUiAccess.GATEWAY:
            return []
        problems = []
        if self.host is None:
            problems.append(Problem(("host",), MISSING, "the host name the UI is served on"))
        if not self.allowed_source_ranges:
            problems.append(
                Problem(
                    ("allowed_source_ranges",),
                    [],
                    "at least one CIDR: Jaeger has no authentication of its own",
                )
            )
        return problems

    @property
    def on_gateway(self) -> bool:
        return self.access is JaegerUiAccess.GATEWAY


class JaegerUi(pulumi.ComponentResource):
    """A VirtualService from the gateway to Jaeger's query Service, and an allowlist on the gateway. Pass the
    control plane in `depends_on`: istiod's webhook validates these resources."""

    host: str
    """The UI's host name."""

    def __init__(self, name: str, args: JaegerUiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = JaegerUiArgs.parse(args)
        if not spec.on_gateway or spec.host is None:
            raise SpecError(
                type(spec).__name__, [Problem(("access",), spec.access.value, "gateway, with a host")]
            )
        super().__init__(TYPE, name, {}, opts)
        after_istio = kube.gated(self, opts)
        self.host = spec.host
        destination = {"host": spec.query_host, "port": {"number": spec.query_port}}
        kube.custom_resource(
            f"{name}-route",
            kube.ISTIO_NETWORKING_API,
            "VirtualService",
            "jaeger-ui",
            spec.gateway_namespace,
            {
                "hosts": [self.host],
                "gateways": [spec.gateway],
                "http": [{"route": [{"destination": destination}]}],
            },
            after_istio,
        )
        # DENY what is not allowed, rather than ALLOW what is: an ALLOW policy on the gateway would
        # close every other host it serves.
        kube.custom_resource(
            f"{name}-allowlist",
            kube.ISTIO_SECURITY_API,
            "AuthorizationPolicy",
            "jaeger-ui-allowlist",
            spec.gateway_namespace,
            {
                "selector": {"matchLabels": dict(spec.gateway_selector)},
                "action": "DENY",
                "rules": [
                    {
                        "to": [{"operation": {"hosts": [self.host, f"{self.host}:*"]}}],
                        "from": [{"source": {"notRemoteIpBlocks": list(spec.allowed_source_ranges)}}],
                    }
                ],
            },
            after_istio,
        )
        self.register_outputs({"host": self.host})
