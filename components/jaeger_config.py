"""Jaeger v2 configuration files, one per role. Jaeger v2 is an OpenTelemetry Collector distribution: the
roles differ only in which receivers, extensions and exporters their pipeline uses.
"""

from enum import StrEnum
from typing import Any

from mesh_tracing.jaeger_storage import JaegerStorage

OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
ZIPKIN_PORT = 9411
QUERY_HTTP_PORT = 16686
QUERY_GRPC_PORT = 16685
SPAN_METRICS_PORT = 8889
"""The Prometheus exporter of span metrics, on the collector (Jaeger's SPM example uses 8889)."""
HEALTH_PORT = 13133
HEALTH_PATH = "/status"
CONFIG_DIR = "/etc/jaeger"
CONFIG_FILE = "config.yaml"

STORAGE_NAME = "traces"
"""The backend's name inside `jaeger_storage`; the exporter and the query extension refer to it."""
METRICS_NAME = "metrics"
"""The metric backend's name inside `jaeger_storage`, for the Monitor tab."""

# Ports as (name, number, appProtocol). Names start with the protocol so Istio clients pick it right.
COLLECTOR_PORTS = [
    ("grpc-otlp", OTLP_GRPC_PORT, "grpc"),
    ("http-otlp", OTLP_HTTP_PORT, "http"),
    ("http-zipkin", ZIPKIN_PORT, "http"),
]
QUERY_PORTS = [("http-query", QUERY_HTTP_PORT, "http"), ("grpc-query", QUERY_GRPC_PORT, "grpc")]
HEALTH_PORTS = [("health", HEALTH_PORT, "http")]
SPAN_METRICS_PORTS = [("http-spm", SPAN_METRICS_PORT, "http")]


class Role(StrEnum):
    ALL_IN_ONE = "all-in-one"
    """Receives, stores and serves the UI: for memory and Badger, which live inside the process."""
    COLLECTOR = "collector"
    """Receives and writes spans; scales out in front of a distributed store."""
    QUERY = "query"
    """Serves the UI and API from the store."""


def _listen(port: int) -> dict[str, str]:
    # Collector components default to localhost; in a pod they must listen on all interfaces.
    return {"endpoint": f"0.0.0.0:{port}"}


def render(role: Role, storage: JaegerStorage, metrics_url: str | None = None) -> dict[str, Any]:
    """The Jaeger config document for `role` writing to / reading from `storage`. With `metrics_url` (a
    Prometheus that scrapes the collector's span metrics), the Monitor tab is on: the collector turns spans
    into RED metrics (the `spanmetrics` connector) and exports them, and the query service reads them."""
    backend = storage.backend
    receives = role in (Role.ALL_IN_ONE, Role.COLLECTOR)
    queries = role in (Role.ALL_IN_ONE, Role.QUERY)
    extensions: dict[str, Any] = {
        "healthcheckv2": {"use_v2": True, "http": _listen(HEALTH_PORT)},
        "jaeger_storage": {"backends": {STORAGE_NAME: backend.config(storage.kind)}},
    }
    if queries:
        extensions["jaeger_query"] = {
            "storage": {"traces": STORAGE_NAME},
            "http": _listen(QUERY_HTTP_PORT),
            "grpc": _listen(QUERY_GRPC_PORT),
        }
        if metrics_url:
            extensions["jaeger_storage"]["metric_backends"] = {
                # Normalized names match the exporter's: `_calls_total`, `_duration_milliseconds`.
                METRICS_NAME: {
                    "prometheus": {
                        "endpoint": metrics_url,
                        "normalize_calls": True,
                        "normalize_duration": True,
                    }
                }
            }
            extensions["jaeger_query"]["storage"]["metrics"] = METRICS_NAME
    if receives:
        receivers: dict[str, Any] = {
            "otlp": {"protocols": {"grpc": _listen(OTLP_GRPC_PORT), "http": _listen(OTLP_HTTP_PORT)}},
            # The receiver's top-level `endpoint` is deprecated (contrib v0.128.0) for `protocols.http`.
            "zipkin": {"protocols": {"http": _listen(ZIPKIN_PORT)}},
        }
        exporters: dict[str, Any] = {"jaeger_storage_exporter": {"trace_storage": STORAGE_NAME}}
    else:
        # A query-only process still needs a pipeline; nop components make it an empty one.
        receivers, exporters = {"nop": None}, {"nop": None}
    pipelines: dict[str, Any] = {
        "traces": {"receivers": list(receivers), "processors": ["batch"], "exporters": list(exporters)}
    }
    connectors: dict[str, Any] = {}
    if receives and metrics_url:
        connectors["spanmetrics"] = {}
        pipelines["traces"]["exporters"].append("spanmetrics")
        exporters["prometheus"] = _listen(SPAN_METRICS_PORT)
        pipelines["metrics/spanmetrics"] = {"receivers": ["spanmetrics"], "exporters": ["prometheus"]}
    return {
        "service": {
            "extensions": list(extensions),
            "pipelines": pipelines,
            "telemetry": {"resource": {"service.name": f"jaeger-{role.value}"}},
        },
        "extensions": extensions,
        "receivers": receivers,
        "processors": {"batch": {}},
        **({"connectors": connectors} if connectors else {}),
        "exporters": exporters,
    }
