"""Mesh-wide mutual TLS: a PeerAuthentication in the root namespace sets the mode for every workload."""

from collections.abc import Sequence
from typing import Literal, TypedDict

import pulumi

from components import k8s as kube

MtlsMode = Literal["STRICT", "PERMISSIVE"]


class MeshSecurityArgs(TypedDict):
    root_namespace: pulumi.Input[str]
    """The mesh root namespace: a PeerAuthentication there without a selector applies mesh-wide."""
    mtls_mode: MtlsMode
    """STRICT: sidecars accept only mutual TLS. PERMISSIVE: plain text too (migration, dev)."""
    istio_ready: Sequence[pulumi.Resource]
    """The CRDs and a ready istiod (its webhook validates the resource)."""


class MeshSecurity(pulumi.ComponentResource):
    mtls_mode: pulumi.Output[str]

    def __init__(self, name: str, args: MeshSecurityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-tracing:index:MeshSecurity", name, {}, opts)
        kube.custom_resource(
            f"{name}-peer-authentication",
            kube.ISTIO_SECURITY_API,
            "PeerAuthentication",
            "default",
            args["root_namespace"],
            {"mtls": {"mode": args["mtls_mode"]}},
            pulumi.ResourceOptions(parent=self, depends_on=list(args["istio_ready"])),
        )
        self.mtls_mode = pulumi.Output.from_input(args["mtls_mode"])
        self.register_outputs({"mtls_mode": self.mtls_mode})
