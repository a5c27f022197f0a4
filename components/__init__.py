"""Pulumi component resources for distributed tracing on an Istio service mesh.

Each component takes typed args and never reads stack config, so other programs can import it with
their own values.
"""

from components.helm import ChartSource
from components.istio_control_plane import IstioControlPlane, IstioControlPlaneArgs
from components.jaeger import Jaeger, JaegerArgs
from components.jaeger_storage import (
    BadgerStorage,
    CassandraStorage,
    MemoryStorage,
    SearchStorage,
    StorageTls,
)
from components.mesh_tracing import MeshTracing, MeshTracingArgs
from components.options import Environment, ExposureMode
from components.tracing_backend import (
    TracingBackend,
    datadog_backend,
    jaeger_backend,
    otlp_backend,
    zipkin_backend,
)

__all__ = [
    "BadgerStorage",
    "CassandraStorage",
    "ChartSource",
    "Environment",
    "ExposureMode",
    "IstioControlPlane",
    "IstioControlPlaneArgs",
    "Jaeger",
    "JaegerArgs",
    "MemoryStorage",
    "MeshTracing",
    "MeshTracingArgs",
    "SearchStorage",
    "StorageTls",
    "TracingBackend",
    "datadog_backend",
    "jaeger_backend",
    "otlp_backend",
    "zipkin_backend",
]
