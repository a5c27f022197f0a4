"""mesh_tracing: Pulumi components for distributed tracing on an Istio service mesh.

Each component takes one typed spec (its `...Args`), validated before anything is registered, and never
reads stack config, so other programs build them with their own values. `TracedMesh` builds them all from
one spec; `mesh_tracing.settings` reads that spec from a stack's config with per-environment presets.
"""

from mesh_tracing.bookinfo import Bookinfo, BookinfoArgs
from mesh_tracing.gateway_certificate import (
    CertManagerInstall,
    GatewayCertificate,
    GatewayCertificateArgs,
    TlsMode,
)
from mesh_tracing.grafana import Grafana, GrafanaArgs
from mesh_tracing.helm import ChartSource
from mesh_tracing.ingress_gateway import Cloud, ExposureMode, IngressGateway, IngressGatewayArgs, NodePorts
from mesh_tracing.istio_control_plane import (
    IstioControlPlane,
    IstioControlPlaneArgs,
    IstiodScale,
    IstioExtraValues,
)
from mesh_tracing.jaeger import CollectorScale, Jaeger, JaegerArgs, QueryScale
from mesh_tracing.jaeger_storage import (
    BadgerStorage,
    CassandraStorage,
    JaegerStorage,
    MemoryStorage,
    ObjectKeyRef,
    SearchStorage,
    StorageKind,
    StorageTls,
)
from mesh_tracing.jaeger_ui import JaegerUi, JaegerUiAccess, JaegerUiArgs
from mesh_tracing.k8s import ComputeQuantities, ResourceRequirements
from mesh_tracing.kiali import Kiali, KialiArgs, KialiAuth, KialiOpenId
from mesh_tracing.load_generator import LoadGenerator, LoadGeneratorArgs
from mesh_tracing.mesh_security import MeshSecurity, MeshSecurityArgs, MtlsMode
from mesh_tracing.mesh_tracing import CustomTag, MeshTracing, MeshTracingArgs, NamespaceSampling
from mesh_tracing.prometheus import MetricsMode, PodPortTarget, Prometheus, PrometheusArgs, RemoteWriteArgs
from mesh_tracing.spec import Problem, SpecError
from mesh_tracing.traced_mesh import TracedMesh, TracedMeshArgs
from mesh_tracing.tracing_backend import JaegerProtocol, OtlpTransport, TracingBackend, TracingBackendKind
from mesh_tracing.ui_access import UiAccess, UiAccessArgs, UiRoute, UiRouteArgs

__version__ = "0.2.0"

COMPONENTS = [
    TracedMesh,
    IstioControlPlane,
    MeshSecurity,
    MeshTracing,
    Jaeger,
    IngressGateway,
    GatewayCertificate,
    JaegerUi,
    Bookinfo,
    LoadGenerator,
    Prometheus,
    Grafana,
    Kiali,
    UiRoute,
]
"""Every public component: what the provider for other languages hosts."""

__all__ = [
    "COMPONENTS",
    "BadgerStorage",
    "Bookinfo",
    "BookinfoArgs",
    "CassandraStorage",
    "CertManagerInstall",
    "ChartSource",
    "Cloud",
    "CollectorScale",
    "ComputeQuantities",
    "CustomTag",
    "ExposureMode",
    "GatewayCertificate",
    "GatewayCertificateArgs",
    "Grafana",
    "GrafanaArgs",
    "IngressGateway",
    "IngressGatewayArgs",
    "IstioControlPlane",
    "IstioControlPlaneArgs",
    "IstioExtraValues",
    "IstiodScale",
    "Jaeger",
    "JaegerArgs",
    "JaegerProtocol",
    "JaegerStorage",
    "JaegerUi",
    "JaegerUiAccess",
    "JaegerUiArgs",
    "Kiali",
    "KialiArgs",
    "KialiAuth",
    "KialiOpenId",
    "LoadGenerator",
    "LoadGeneratorArgs",
    "MemoryStorage",
    "MeshSecurity",
    "MeshSecurityArgs",
    "MeshTracing",
    "MeshTracingArgs",
    "MetricsMode",
    "MtlsMode",
    "NamespaceSampling",
    "NodePorts",
    "ObjectKeyRef",
    "OtlpTransport",
    "PodPortTarget",
    "Problem",
    "Prometheus",
    "PrometheusArgs",
    "QueryScale",
    "RemoteWriteArgs",
    "ResourceRequirements",
    "SearchStorage",
    "SpecError",
    "StorageKind",
    "StorageTls",
    "TlsMode",
    "TracedMesh",
    "TracedMeshArgs",
    "TracingBackend",
    "TracingBackendKind",
    "UiAccess",
    "UiAccessArgs",
    "UiRoute",
    "UiRouteArgs",
    "__version__",
]
