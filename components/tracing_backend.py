"""Where the mesh sends spans. One spec says it; from it come the `meshConfig.extensionProviders` entry for
istiod, the provider name the Telemetry resources use, the egress to a backend outside the cluster, and the
secret istiod needs for a token. The name is therefore never spelled twice.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import pulumi

from mesh_tracing import jaeger_config as jaeger_ports
from mesh_tracing.fields import Hostname, Port
from mesh_tracing.jaeger import Jaeger
from mesh_tracing.k8s import CLUSTER_DOMAIN
from mesh_tracing.spec import MISSING, Problem, Spec, secret

TOKEN_ENV = "TRACING_BACKEND_TOKEN"
"""istiod environment variable holding the backend's access token; providers reference it by name."""
ZIPKIN_PORT = 9411
DATADOG_APM_PORT = 8126
DEFAULT_OTLP_PATH = "/v1/traces"


class TracingBackendKind(StrEnum):
    """The kind of tracing backend."""

    JAEGER = "jaeger"
    """Jaeger: the in-cluster one TracedMesh runs, or an existing collector (`service`)."""
    ZIPKIN = "zipkin"
    """Any Zipkin-compatible collector."""
    OTLP = "otlp"
    """An OTLP endpoint, such as a tracing SaaS."""
    DATADOG = "datadog"
    """A Datadog agent's trace intake."""


class JaegerProtocol(StrEnum):
    """How the mesh reports to Jaeger."""

    OTLP = "otlp"
    """OTLP over gRPC (4317)."""
    ZIPKIN = "zipkin"
    """Zipkin (9411)."""


class OtlpTransport(StrEnum):
    """The transport of an OTLP backend."""

    GRPC = "grpc"
    """OTLP over gRPC."""
    HTTP = "http"
    """OTLP over HTTP (to `path`)."""


@dataclass(frozen=True)
class ExternalEndpoint:
    """A backend outside the cluster: the mesh needs a ServiceEntry for it, and TLS origination."""

    host: str
    port: int
    protocol: Literal["HTTPS", "GRPC", "HTTP", "TCP"]
    tls: bool


class TracingBackend(Spec):
    """Where the mesh's spans go: an extension provider of istiod, and what the proxies need to reach it."""

    kind: TracingBackendKind = TracingBackendKind.JAEGER
    """`jaeger`, `zipkin`, `otlp` or `datadog`."""
    name: str | None = None
    """The extension provider's name in `meshConfig.extensionProviders`; the kind when unset."""
    protocol: JaegerProtocol = JaegerProtocol.OTLP
    """How the mesh reports to Jaeger: `otlp` (gRPC, 4317) or `zipkin` (9411)."""
    service: Hostname | None = None
    """Host of the backend: a cluster FQDN or a public name. Required for `zipkin`, `otlp` and `datadog`;
    for `jaeger`, TracedMesh uses its own Jaeger's collector when unset."""
    port: Port | None = None
    """Port of the backend; defaults: zipkin 9411, datadog 8126, jaeger per protocol. Required for `otlp`."""
    transport: OtlpTransport = OtlpTransport.GRPC
    """Transport of an `otlp` backend."""
    path: str | None = None
    """URL path: the OTLP/HTTP traces path (`/v1/traces` when unset) or the Zipkin spans path."""
    tls: bool = True
    """Originate TLS to an external `otlp` backend."""
    token_header: str | None = None
    """Header carrying `token` to an `otlp` backend, e.g. `lightstep-access-token`."""
    token: pulumi.Input[str] | None = secret()
    """The backend's access token (a secret), required with `token_header`. istiod reads it from a
    Secret-backed environment variable, so it is not in the mesh config."""

    @property
    def provider_name(self) -> str:
        return self.name or self.kind.value

    def _rules(self) -> list[Problem]:
        problems = []
        if self.kind is not TracingBackendKind.JAEGER and self.service is None:
            problems.append(
                Problem(
                    ("service",), MISSING, f"the host of the {self.kind.value} backend (FQDN or public name)"
                )
            )
        if self.kind is TracingBackendKind.OTLP and self.port is None:
            problems.append(Problem(("port",), MISSING, "the OTLP port of the backend, e.g. 4317 or 443"))
        if self.token_header and self.kind is not TracingBackendKind.OTLP:
            problems.append(Problem(("token_header",), self.token_header, "only with {0} otlp", (("kind",),)))
        elif self.token_header and self.token is None:
            problems.append(Problem(("token",), MISSING, "required with {0}", (("token_header",),)))
        return problems

    def extension_provider(self, collector: Jaeger | None = None) -> pulumi.Input[dict[str, Any]]:
        """The `meshConfig.extensionProviders[]` entry. With `collector` (kind `jaeger`), it points at that
        Jaeger's collector Service and port; otherwise at `service`."""
        if collector is not None and self.kind is TracingBackendKind.JAEGER:
            otlp = self.protocol is JaegerProtocol.OTLP
            port = collector.otlp_grpc_port if otlp else collector.zipkin_port
            return collector.collector_host.apply(lambda host: self._provider(host, port))
        return self._provider(self.service or "", self.port)

    def _provider(self, service: str, port: int | None) -> dict[str, Any]:
        name = self.provider_name
        if self.kind is TracingBackendKind.JAEGER:
            otlp = self.protocol is JaegerProtocol.OTLP
            default = jaeger_ports.OTLP_GRPC_PORT if otlp else jaeger_ports.ZIPKIN_PORT
            return {
                "name": name,
                "opentelemetry" if otlp else "zipkin": {"service": service, "port": port or default},
            }
        if self.kind is TracingBackendKind.ZIPKIN:
            zipkin: dict[str, Any] = {"service": service, "port": port or ZIPKIN_PORT}
            if self.path:
                zipkin["path"] = self.path
            return {"name": name, "zipkin": zipkin}
        if self.kind is TracingBackendKind.DATADOG:
            return {"name": name, "datadog": {"service": service, "port": port or DATADOG_APM_PORT}}
        headers = [{"name": self.token_header, "envName": TOKEN_ENV}] if self.token_header else []
        otel: dict[str, Any] = {"service": service, "port": port}
        if self.transport is OtlpTransport.HTTP:
            otel["http"] = {"path": self.path or DEFAULT_OTLP_PATH, "timeout": "10s", "headers": headers}
        else:
            otel["grpc"] = {"timeout": "10s", "initialMetadata": headers}
        return {"name": name, "opentelemetry": otel}

    @property
    def istiod_secret_env(self) -> dict[str, pulumi.Input[str]]:
        """Secret values istiod must see as environment variables (the access token)."""
        return {TOKEN_ENV: self.token} if self.token_header and self.token is not None else {}

    @property
    def external(self) -> ExternalEndpoint | None:
        """The backend, when it is outside the cluster (a host not under `.svc.<cluster domain>`)."""
        if self.service is None or self.service.endswith(f".svc.{CLUSTER_DOMAIN}"):
            return None
        if self.kind is TracingBackendKind.OTLP:
            protocol: Literal["HTTPS", "GRPC", "HTTP"] = (
                "GRPC" if self.transport is OtlpTransport.GRPC else "HTTPS" if self.tls else "HTTP"
            )
            return ExternalEndpoint(self.service, self.port or 0, protocol, self.tls)
        default = {TracingBackendKind.ZIPKIN: ZIPKIN_PORT, TracingBackendKind.DATADOG: DATADOG_APM_PORT}
        port = self.port or default.get(self.kind, jaeger_ports.OTLP_GRPC_PORT)
        return ExternalEndpoint(self.service, port, "HTTP", tls=False)
