"""Pulumi component resources for distributed tracing on an Istio service mesh.

Each component takes typed args and never reads stack config, so other programs can import it with
their own values.
"""

from components.bookinfo import Bookinfo, BookinfoArgs
from components.gateway_certificate import GatewayCertificate, GatewayCertificateArgs
from components.helm import ChartSource
from components.ingress_gateway import GatewayTlsArgs, IngressGateway, IngressGatewayArgs
from components.istio_control_plane import IstioControlPlane, IstioControlPlaneArgs
from components.jaeger import Jaeger, JaegerArgs
from components.jaeger_storage import (
    BadgerStorage,
    CassandraStorage,
    MemoryStorage,
    SearchStorage,
    StorageTls,
)
from components.jaeger_ui import JaegerUi, JaegerUiArgs
from components.load_generator import LoadGenerator, LoadGeneratorArgs
from components.mesh_security import MeshSecurity, MeshSecurityArgs
from components.mesh_tracing import MeshTracing, MeshTracingArgs
from components.options import Cloud, Environment, ExposureMode, JaegerUiAccess, TlsMode
from components.tracing_backend import (
    TracingBackend,
    datadog_backend,
    jaeger_backend,
    otlp_backend,
    zipkin_backend,
)

__all__ = [
    "BadgerStorage",
    "Bookinfo",
    "BookinfoArgs",
    "CassandraStorage",
    "ChartSource",
    "Cloud",
    "Environment",
    "ExposureMode",
    "GatewayCertificate",
    "GatewayCertificateArgs",
    "GatewayTlsArgs",
    "IngressGateway",
    "IngressGatewayArgs",
    "IstioControlPlane",
    "IstioControlPlaneArgs",
    "Jaeger",
    "JaegerArgs",
    "JaegerUi",
    "JaegerUiAccess",
    "JaegerUiArgs",
    "LoadGenerator",
    "LoadGeneratorArgs",
    "MemoryStorage",
    "MeshSecurity",
    "MeshSecurityArgs",
    "MeshTracing",
    "MeshTracingArgs",
    "SearchStorage",
    "StorageTls",
    "TlsMode",
    "TracingBackend",
    "datadog_backend",
    "jaeger_backend",
    "otlp_backend",
    "zipkin_backend",
]
