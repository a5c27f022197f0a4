"""How people reach a web UI (Jaeger, Grafana, Kiali, Prometheus): by port-forward, or on a host of its own
on the ingress gateway, with TLS, closed to every source outside an IP allowlist.

`UiRoute` puts any in-cluster UI on the gateway that way; `JaegerUi` is the same for Jaeger's query Service.
"""

from enum import StrEnum
from typing import ClassVar

import pulumi

from mesh_tracing import k8s as kube
from mesh_tracing.fields import Cidr, Hostname, Port
from mesh_tracing.spec import MISSING, Problem, Spec, SpecError, wired

TYPE = "mesh-tracing:index:UiRoute"


class UiAccess(StrEnum):
    """How people reach a UI."""

    NONE = "none"
    """With `kubectl port-forward` to its Service."""
    GATEWAY = "gateway"
    """On a host of the ingress gateway, with TLS and a source-IP allowlist."""


class UiAccessArgs(Spec):
    """A UI reached by port-forward, or on its own host of the gateway."""

    WHY_ALLOWLIST: ClassVar[str] = "the UI is reached only from the addresses it lists"

    access: UiAccess = UiAccess.NONE
    """`none` (port-forward) or `gateway`."""
    host: Hostname | None = None
    """Host name of the UI on the gateway, e.g. `grafana.example.com` (with `gateway`)."""
    allowed_source_ranges: list[Cidr] = []
    """CIDRs that may reach the UI; every other source gets 403 from the gateway (with `gateway`)."""

    def _rules(self) -> list[Problem]:
        if self.access is not UiAccess.GATEWAY:
            return []
        problems = []
        if self.host is None:
            problems.append(Problem(("host",), MISSING, "the host name the UI is served on"))
        if not self.allowed_source_ranges:
            problems.append(
                Problem(("allowed_source_ranges",), [], f"at least one CIDR: {self.WHY_ALLOWLIST}")
            )
        return problems

    @property
    def on_gateway(self) -> bool:
        return self.access is UiAccess.GATEWAY


class GatewayUiArgs(UiAccessArgs):
    """A UI on the gateway, and the gateway that serves it."""

    gateway: pulumi.Input[str] = wired("istio-ingress/istio-ingressgateway", "TracedMesh, from the gateway")
    """`<namespace>/<name>` of the Istio Gateway that serves the host (with TLS)."""
    gateway_namespace: pulumi.Input[str] = wired("istio-ingress", "TracedMesh, from the gateway")
    """The gateway's namespace, where the route and the allowlist live."""
    gateway_selector: dict[str, str] = wired({"istio": "ingressgateway"}, "TracedMesh, from the gateway")
    """Labels of the gateway pods, for the allowlist policy."""

    def require_gateway(self) -> str:
        """The host, or a `SpecError` when the UI is not on the gateway: a route needs both."""
        if not self.on_gateway or self.host is None:
            raise SpecError(
                type(self).__name__, [Problem(("access",), self.access.value, "gateway, with a host")]
            )
        return self.host


class UiRouteArgs(GatewayUiArgs):
    """A UI's in-cluster Service, put on a host of the gateway."""

    service_host: pulumi.Input[str] = wired("grafana.monitoring.svc.cluster.local", "TracedMesh, from the UI")
    """FQDN of the UI's Service."""
    service_port: Port = wired(80, "TracedMesh, from the UI")
    """Port of the UI's Service."""


def serve_on_gateway(
    name: str,
    route: str,
    spec: GatewayUiArgs,
    destination: tuple[pulumi.Input[str], int],
    opts: pulumi.ResourceOptions,
) -> None:
    """A VirtualService from the gateway host to the UI's Service, and the allowlist on the gateway pods."""
    host = spec.require_gateway()
    service_host, service_port = destination
    kube.custom_resource(
        f"{name}-route",
        kube.ISTIO_NETWORKING_API,
        "VirtualService",
        route,
        spec.gateway_namespace,
        {
            "hosts": [host],
            "gateways": [spec.gateway],
            "http": [{"route": [{"destination": {"host": service_host, "port": {"number": service_port}}}]}],
        },
        opts,
    )
    # DENY what is not allowed, rather than ALLOW what is: an ALLOW policy on the gateway would close every
    # other host it serves.
    kube.custom_resource(
        f"{name}-allowlist",
        kube.ISTIO_SECURITY_API,
        "AuthorizationPolicy",
        f"{route}-allowlist",
        spec.gateway_namespace,
        {
            "selector": {"matchLabels": dict(spec.gateway_selector)},
            "action": "DENY",
            "rules": [
                {
                    "to": [{"operation": {"hosts": [host, f"{host}:*"]}}],
                    "from": [{"source": {"notRemoteIpBlocks": list(spec.allowed_source_ranges)}}],
                }
            ],
        },
        opts,
    )


class UiRoute(pulumi.ComponentResource):
    """A UI (Grafana, Kiali, Prometheus) on its own host of the gateway, behind an IP allowlist. Pass the
    control plane in `depends_on`: istiod's webhook validates these resources."""

    host: str
    """The UI's host name."""

    def __init__(self, name: str, args: UiRouteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = UiRouteArgs.parse(args)
        self.host = spec.require_gateway()
        super().__init__(TYPE, name, {}, opts)
        serve_on_gateway(name, name, spec, (spec.service_host, spec.service_port), kube.gated(self, opts))
        self.register_outputs({"host": self.host})
