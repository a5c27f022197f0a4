"""Mesh-wide mutual TLS: a PeerAuthentication in the root namespace sets the mode for every workload."""

from enum import StrEnum

import pulumi

from mesh_tracing import k8s as kube
from mesh_tracing.spec import Spec, wired

TYPE = "mesh-tracing:index:MeshSecurity"


class MtlsMode(StrEnum):
    """How sidecars accept traffic."""

    STRICT = "STRICT"
    """Only mutual TLS between sidecars."""
    PERMISSIVE = "PERMISSIVE"
    """Mutual TLS and plain text (migration, dev)."""


class MeshSecurityArgs(Spec):
    """Mesh-wide security settings."""

    mtls_mode: MtlsMode = MtlsMode.STRICT
    """Mesh-wide mutual TLS: `STRICT` accepts only mTLS between sidecars, `PERMISSIVE` plain text too."""
    root_namespace: pulumi.Input[str] = wired("istio-system", "the control plane's namespace")
    """The mesh root namespace: a PeerAuthentication there without a selector applies mesh-wide."""


class MeshSecurity(pulumi.ComponentResource):
    """A mesh-wide PeerAuthentication. Pass the control plane in `depends_on`: istiod's webhook validates it."""

    mtls_mode: pulumi.Output[str]
    """The mesh-wide mTLS mode."""

    def __init__(self, name: str, args: MeshSecurityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = MeshSecurityArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        kube.custom_resource(
            f"{name}-peer-authentication",
            kube.ISTIO_SECURITY_API,
            "PeerAuthentication",
            "default",
            spec.root_namespace,
            {"mtls": {"mode": spec.mtls_mode.value}},
            kube.gated(self, opts),
        )
        self.mtls_mode = pulumi.Output.from_input(spec.mtls_mode.value)
        self.register_outputs({"mtls_mode": self.mtls_mode})
