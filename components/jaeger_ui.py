"""The Jaeger UI on a host of the ingress gateway. Jaeger has no authentication of its own, so the host is
closed to every source outside an IP allowlist."""

from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi

from components import k8s as kube


class JaegerUiArgs(TypedDict):
    host: str
    """Host name of the UI; the gateway must serve it (with TLS)."""
    gateway: pulumi.Input[str]
    """`<namespace>/<name>` of the Istio Gateway."""
    gateway_namespace: pulumi.Input[str]
    gateway_selector: Mapping[str, str]
    """Labels of the gateway pods, for the allowlist policy."""
    query_host: pulumi.Input[str]
    """FQDN of Jaeger's query Service."""
    query_port: int
    allowed_source_ranges: Sequence[str]
    """CIDRs that may reach the UI; all others get 403 from the gateway."""
    istio_ready: Sequence[pulumi.Resource]


class JaegerUi(pulumi.ComponentResource):
    """A VirtualService from the gateway to Jaeger's query Service, and an allowlist on the gateway."""

    host: str

    def __init__(self, name: str, args: JaegerUiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-tracing:index:JaegerUi", name, {}, opts)
        if not args["allowed_source_ranges"]:
            raise ValueError(
                "the Jaeger UI has no authentication: give the source ranges allowed to reach it"
            )
        after_istio = pulumi.ResourceOptions(parent=self, depends_on=list(args["istio_ready"]))
        namespace = args["gateway_namespace"]
        self.host = args["host"]
        destination = {"host": args["query_host"], "port": {"number": args["query_port"]}}
        kube.custom_resource(
            f"{name}-route",
            kube.ISTIO_NETWORKING_API,
            "VirtualService",
            "jaeger-ui",
            namespace,
            {
                "hosts": [self.host],
                "gateways": [args["gateway"]],
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
            namespace,
            {
                "selector": {"matchLabels": dict(args["gateway_selector"])},
                "action": "DENY",
                "rules": [
                    {
                        "to": [{"operation": {"hosts": [self.host, f"{self.host}:*"]}}],
                        "from": [{"source": {"notRemoteIpBlocks": list(args["allowed_source_ranges"])}}],
                    }
                ],
            },
            after_istio,
        )
        self.register_outputs({"host": self.host})
