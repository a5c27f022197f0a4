"""Mesh-wide tracing through the Telemetry API: the provider and the sampling rate, per mesh and per
namespace. Sampling lives only here, so changing it updates one resource and restarts no pod.
"""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi

from components import k8s as kube
from components.tracing_backend import ExternalEndpoint, TracingBackend

MESH_TELEMETRY_NAME = "mesh-default"


class MeshTracingArgs(TypedDict):
    backend: TracingBackend
    """The tracing extension provider the Telemetry resources point at."""
    root_namespace: pulumi.Input[str]
    """The mesh root namespace; a Telemetry there without a selector applies to the whole mesh."""
    sampling_percentage: float
    """Share of requests traced, 0-100, in steps of 0.01."""
    istio_ready: Sequence[pulumi.Resource]
    """What the Istio resources wait for: the CRDs and a ready istiod (its webhook validates them)."""
    custom_tags: NotRequired[Mapping[str, Mapping[str, Any]]]
    """Telemetry `customTags`, e.g. `{"environment": {"literal": {"value": "prod"}}}`."""
    namespace_sampling: NotRequired[Mapping[str, float]]
    """Sampling overrides for existing namespaces: namespace -> percentage."""
    sampling_override_reason: NotRequired[str | None]
    """Why the rate is above the prod policy's 10 %: recorded on the Telemetry for the policy pack."""


class MeshTracing(pulumi.ComponentResource):
    """A mesh-wide Telemetry, optional per-namespace overrides, and egress to an external backend."""

    provider_name: pulumi.Output[str]
    """The extension provider the mesh reports to."""
    sampling_percentage: pulumi.Output[float]
    telemetry: pulumi.Resource
    """The mesh-wide Telemetry. Workloads that must be traced from their first request depend on it."""

    def __init__(self, name: str, args: MeshTracingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-tracing:index:MeshTracing", name, {}, opts)
        backend = args["backend"]
        after_istio = pulumi.ResourceOptions(parent=self, depends_on=list(args["istio_ready"]))
        egress = (
            self._egress(name, backend.external, args["root_namespace"], after_istio)
            if backend.external
            else []
        )

        rule: dict[str, Any] = {
            "providers": [{"name": backend.provider_name}],
            "randomSamplingPercentage": args["sampling_percentage"],
        }
        if args.get("custom_tags"):
            rule["customTags"] = dict(args["custom_tags"])
        self.telemetry = kube.custom_resource(
            f"{name}-mesh-default",
            kube.ISTIO_TELEMETRY_API,
            "Telemetry",
            MESH_TELEMETRY_NAME,
            args["root_namespace"],
            {"tracing": [rule]},
            pulumi.ResourceOptions.merge(after_istio, pulumi.ResourceOptions(depends_on=egress)),
            annotations={kube.SAMPLING_OVERRIDE: reason}
            if (reason := args.get("sampling_override_reason"))
            else None,
        )
        for namespace, percentage in sorted(args.get("namespace_sampling", {}).items()):
            # Inherits provider and tags from the mesh-wide resource; only the rate differs.
            kube.custom_resource(
                f"{name}-sampling-{namespace}",
                kube.ISTIO_TELEMETRY_API,
                "Telemetry",
                "tracing-sampling",
                namespace,
                {
                    "tracing": [
                        {
                            "providers": [{"name": backend.provider_name}],
                            "randomSamplingPercentage": percentage,
                        }
                    ]
                },
                pulumi.ResourceOptions(parent=self, depends_on=[self.telemetry]),
            )

        self.provider_name = pulumi.Output.from_input(backend.provider_name)
        self.sampling_percentage = pulumi.Output.from_input(args["sampling_percentage"])
        self.register_outputs(
            {"provider_name": self.provider_name, "sampling_percentage": self.sampling_percentage}
        )

    def _egress(
        self,
        name: str,
        endpoint: ExternalEndpoint,
        namespace: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> list[pulumi.Resource]:
        """A ServiceEntry so the proxies can reach the external backend, and TLS origination to it."""
        port = {
            "number": endpoint.port,
            "name": f"{endpoint.protocol.lower()}-tracing",
            "protocol": endpoint.protocol,
        }
        entry = kube.custom_resource(
            f"{name}-backend-entry",
            kube.ISTIO_NETWORKING_API,
            "ServiceEntry",
            "tracing-backend",
            namespace,
            {"hosts": [endpoint.host], "ports": [port], "location": "MESH_EXTERNAL", "resolution": "DNS"},
            opts,
        )
        if not endpoint.tls:
            return [entry]
        origination = kube.custom_resource(
            f"{name}-backend-tls",
            kube.ISTIO_NETWORKING_API,
            "DestinationRule",
            "tracing-backend",
            namespace,
            {
                "host": endpoint.host,
                "trafficPolicy": {
                    "portLevelSettings": [
                        {"port": {"number": endpoint.port}, "tls": {"mode": "SIMPLE", "sni": endpoint.host}}
                    ]
                },
            },
            opts,
        )
        return [entry, origination]
