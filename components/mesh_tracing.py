"""Mesh-wide tracing through the Telemetry API: the provider and the sampling rate, per mesh and per
namespace. Sampling lives only here, so changing it updates one resource and restarts no pod.
"""

from typing import Any

import pulumi
from pydantic import Field

from mesh_tracing import k8s as kube
from mesh_tracing.fields import DnsLabel, Percentage
from mesh_tracing.spec import MISSING, Problem, Spec, wired
from mesh_tracing.tracing_backend import ExternalEndpoint, TracingBackend

TYPE = "mesh-tracing:index:MeshTracing"
MESH_TELEMETRY_NAME = "mesh-default"
TAG_SOURCES = ("literal", "header", "environment")


class CustomTag(Spec):
    """A tag on every span: exactly one of a literal value, a request header, or an environment variable of
    the proxy."""

    literal: str | None = None
    """A fixed value."""
    header: str | None = None
    """The value of this request header."""
    environment: str | None = None
    """The value of this environment variable of the proxy, e.g. `NODE_NAME`."""
    default_value: str | None = None
    """The value when the header or variable is absent."""

    def _rules(self) -> list[Problem]:
        sources = [source for source in TAG_SOURCES if getattr(self, source) is not None]
        if len(sources) != 1:
            return [Problem((), sources or MISSING, f"exactly one of {', '.join(TAG_SOURCES)}")]
        return []

    @property
    def always_set(self) -> bool:
        """Whether every span carries it: a literal, or a source with a default value."""
        return self.literal is not None or self.default_value is not None

    def telemetry(self) -> dict[str, Any]:
        """The Telemetry API's `CustomTag`."""
        if self.literal is not None:
            return {"literal": {"value": self.literal}}
        source, name = (
            ("header", self.header) if self.header is not None else ("environment", self.environment)
        )
        return {
            source: {"name": name, **({"defaultValue": self.default_value} if self.default_value else {})}
        }


class NamespaceSampling(Spec):
    """Another sampling rate for one namespace."""

    namespace: DnsLabel
    """An existing namespace."""
    sampling_percentage: Percentage
    """Share of its requests traced, 0-100 in steps of 0.01."""


class MeshTracingArgs(Spec):
    """The mesh's tracing: where spans go and how many requests are traced."""

    sampling_percentage: Percentage
    """Share of requests traced, 0-100 in steps of 0.01; applied through the Telemetry API without pod
    restarts."""
    high_sampling_reason: str | None = Field(None, min_length=10)
    """Why the rate is high (prod policy: above 10 %), recorded on the Telemetry for the policy pack."""
    backend: TracingBackend = TracingBackend()
    """Where spans go: the extension provider the Telemetry names."""
    environment_tag: bool = True
    """Tag every span with `environment=<environment>`."""
    environment: str | None = wired(None, "TracedMesh, from its environment")
    """The environment's name, the value of the `environment` tag."""
    custom_tags: dict[str, CustomTag] = {}
    """More tags on every span, by tag name."""
    namespace_overrides: list[NamespaceSampling] = []
    """Other sampling rates for existing namespaces."""
    root_namespace: pulumi.Input[str] = wired("istio-system", "TracedMesh, from the control plane")
    """The mesh root namespace; a Telemetry there without a selector applies to the whole mesh."""

    def _rules(self) -> list[Problem]:
        seen: set[str] = set()
        problems = []
        for index, override in enumerate(self.namespace_overrides):
            if override.namespace in seen:
                problems.append(
                    Problem(
                        ("namespace_overrides", index, "namespace"), override.namespace, "each namespace once"
                    )
                )
            seen.add(override.namespace)
        return problems

    def custom_tags_telemetry(self) -> dict[str, dict[str, Any]]:
        """Telemetry `customTags`: the environment as a literal, then the configured tags."""
        tags: dict[str, dict[str, Any]] = {}
        if self.environment_tag and self.environment:
            tags["environment"] = {"literal": {"value": self.environment}}
        tags.update({name: tag.telemetry() for name, tag in self.custom_tags.items()})
        return tags

    def span_tags(self) -> dict[str, str | None]:
        """The tags every span carries, with their value where it is fixed (None: any value)."""
        tags: dict[str, str | None] = {}
        if self.environment_tag and self.environment:
            tags["environment"] = self.environment
        for name, tag in self.custom_tags.items():
            if tag.always_set:
                tags[name] = tag.literal
        return tags


class MeshTracing(pulumi.ComponentResource):
    """A mesh-wide Telemetry, optional per-namespace overrides, and egress to an external backend. Pass the
    control plane in `depends_on`: istiod's webhook validates these resources."""

    provider_name: pulumi.Output[str]
    """The extension provider the mesh reports to."""
    sampling_percentage: pulumi.Output[float]
    """The mesh-wide sampling rate."""
    span_tags: dict[str, str | None]
    """The tags every span carries, with their value where it is fixed."""

    def __init__(self, name: str, args: MeshTracingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = MeshTracingArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        backend = spec.backend
        after_istio = kube.gated(self, opts)
        external = backend.external
        egress = self._egress(name, external, spec.root_namespace, after_istio) if external else []

        rule: dict[str, Any] = {
            "providers": [{"name": backend.provider_name}],
            "randomSamplingPercentage": spec.sampling_percentage,
        }
        if tags := spec.custom_tags_telemetry():
            rule["customTags"] = tags
        self._telemetry = kube.custom_resource(
            f"{name}-mesh-default",
            kube.ISTIO_TELEMETRY_API,
            "Telemetry",
            MESH_TELEMETRY_NAME,
            spec.root_namespace,
            {"tracing": [rule]},
            pulumi.ResourceOptions.merge(after_istio, pulumi.ResourceOptions(depends_on=egress)),
            annotations={kube.SAMPLING_OVERRIDE: spec.high_sampling_reason}
            if spec.high_sampling_reason
            else None,
        )
        for override in sorted(spec.namespace_overrides, key=lambda o: o.namespace):
            # Inherits provider and tags from the mesh-wide resource; only the rate differs.
            kube.custom_resource(
                f"{name}-sampling-{override.namespace}",
                kube.ISTIO_TELEMETRY_API,
                "Telemetry",
                "tracing-sampling",
                override.namespace,
                {
                    "tracing": [
                        {
                            "providers": [{"name": backend.provider_name}],
                            "randomSamplingPercentage": override.sampling_percentage,
                        }
                    ]
                },
                pulumi.ResourceOptions(parent=self, depends_on=[self._telemetry]),
            )

        self.provider_name = pulumi.Output.from_input(backend.provider_name)
        self.sampling_percentage = pulumi.Output.from_input(spec.sampling_percentage)
        self.span_tags = spec.span_tags()
        self.register_outputs(
            {"provider_name": self.provider_name, "sampling_percentage": self.sampling_percentage}
        )

    @property
    def telemetry(self) -> pulumi.Resource:
        """The mesh-wide Telemetry. Workloads that must be traced from their first request wait for it."""
        return self._telemetry

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
