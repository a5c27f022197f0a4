"""The Jaeger UI on a host of the ingress gateway. Jaeger has no authentication of its own, so the host is
closed to every source outside an IP allowlist."""

from typing import ClassVar

import pulumi

from mesh_tracing import jaeger_config as cfg
from mesh_tracing import k8s as kube
from mesh_tracing.spec import wired
from mesh_tracing.ui_access import GatewayUiArgs, UiAccess, serve_on_gateway

TYPE = "mesh-tracing:index:JaegerUi"

JaegerUiAccess = UiAccess
"""How people reach the Jaeger UI (the access choices every UI has)."""


class JaegerUiArgs(GatewayUiArgs):
    """The Jaeger UI: reached by port-forward, or on its own host of the gateway."""

    WHY_ALLOWLIST: ClassVar[str] = "Jaeger has no authentication of its own"

    query_host: pulumi.Input[str] = wired("jaeger-query.tracing.svc.cluster.local", "TracedMesh, from Jaeger")
    """FQDN of Jaeger's query Service."""
    query_port: int = wired(cfg.QUERY_HTTP_PORT, "TracedMesh, from Jaeger")
    """Port of Jaeger's query Service (UI and API)."""


class JaegerUi(pulumi.ComponentResource):
    """A VirtualService from the gateway to Jaeger's query Service, and an allowlist on the gateway. Pass the
    control plane in `depends_on`: istiod's webhook validates these resources."""

    host: str
    """The UI's host name."""

    def __init__(self, name: str, args: JaegerUiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = JaegerUiArgs.parse(args)
        self.host = spec.require_gateway()
        super().__init__(TYPE, name, {}, opts)
        serve_on_gateway(name, "jaeger-ui", spec, (spec.query_host, spec.query_port), kube.gated(self, opts))
        self.register_outputs({"host": self.host})
