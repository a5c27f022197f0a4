"""Where the mesh sends spans: an Istio `meshConfig.extensionProviders` entry and what it needs.

A backend is built once, from the tracing target's own outputs; istiod's mesh config and the Telemetry
resource both read the provider name from it, so the name is never spelled twice.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from components.jaeger import Jaeger
from components.k8s import CLUSTER_DOMAIN

TOKEN_ENV = "TRACING_BACKEND_TOKEN"
"""istiod environment variable holding the backend's access token; providers reference it by name."""


@dataclass(frozen=True)
class ExternalEndpoint:
    """A backend outside the cluster: the mesh needs a ServiceEntry for it, and TLS origination."""

    host: str
    port: int
    protocol: Literal["HTTPS", "GRPC", "HTTP", "TCP"]
    tls: bool


@dataclass(frozen=True)
class TracingBackend:
    provider_name: str
    """The extension provider's name, referenced by Telemetry resources."""
    extension_provider: pulumi.Input[Mapping[str, Any]]
    """The `meshConfig.extensionProviders[]` entry."""
    istiod_secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Secret values istiod must see as environment variables (e.g. an access token)."""
    external: ExternalEndpoint | None = None
    """Set when the backend is outside the cluster."""


def _external(
    host: str, port: int, protocol: Literal["HTTPS", "GRPC", "HTTP", "TCP"], tls: bool
) -> ExternalEndpoint | None:
    return None if host.endswith(f".svc.{CLUSTER_DOMAIN}") else ExternalEndpoint(host, port, protocol, tls)


def jaeger_backend(
    jaeger: Jaeger, protocol: Literal["otlp", "zipkin"] = "otlp", name: str = "jaeger"
) -> TracingBackend:
    """The in-cluster Jaeger: OTLP over gRPC to the collector (the default), or Zipkin."""
    if protocol == "otlp":
        provider = jaeger.collector_host.apply(
            lambda host: {"name": name, "opentelemetry": {"service": host, "port": jaeger.otlp_grpc_port}}
        )
    else:
        provider = jaeger.collector_host.apply(
            lambda host: {"name": name, "zipkin": {"service": host, "port": jaeger.zipkin_port}}
        )
    return TracingBackend(provider_name=name, extension_provider=provider)


ZIPKIN_PORT = 9411
DATADOG_APM_PORT = 8126


def zipkin_backend(
    host: str, port: int = ZIPKIN_PORT, path: str | None = None, name: str = "zipkin"
) -> TracingBackend:
    """Any Zipkin-compatible collector."""
    zipkin: dict[str, Any] = {"service": host, "port": port}
    if path:
        zipkin["path"] = path
    return TracingBackend(
        provider_name=name,
        extension_provider={"name": name, "zipkin": zipkin},
        external=_external(host, port, "HTTP", tls=False),
    )


def otlp_backend(
    host: str,
    port: int,
    *,
    transport: Literal["grpc", "http"] = "grpc",
    path: str = "/v1/traces",
    tls: bool = True,
    token_header: str | None = None,
    token: pulumi.Input[str] | None = None,
    name: str = "otlp",
) -> TracingBackend:
    """An OTLP endpoint such as a SaaS tracing service; the access token travels in a header whose value
    istiod reads from a Secret-backed environment variable, so it is never in the mesh config."""
    headers = [{"name": token_header, "envName": TOKEN_ENV}] if token_header else []
    otel: dict[str, Any] = {"service": host, "port": port}
    if transport == "http":
        otel["http"] = {"path": path, "timeout": "10s", "headers": headers}
    else:
        otel["grpc"] = {"timeout": "10s", "initialMetadata": headers}
    return TracingBackend(
        provider_name=name,
        extension_provider={"name": name, "opentelemetry": otel},
        istiod_secret_env={TOKEN_ENV: token} if token_header and token is not None else {},
        external=_external(host, port, "GRPC" if transport == "grpc" else "HTTPS" if tls else "HTTP", tls),
    )


def datadog_backend(host: str, port: int = DATADOG_APM_PORT, name: str = "datadog") -> TracingBackend:
    """A Datadog agent's trace intake (APM port 8126 by default)."""
    return TracingBackend(
        provider_name=name,
        extension_provider={"name": name, "datadog": {"service": host, "port": port}},
        external=_external(host, port, "HTTP", tls=False),
    )
