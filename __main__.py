"""Distributed tracing on an Istio mesh, per environment.

Settings are read and validated first; a bad stack config stops here, before any resource exists.
"""

import pulumi
import pulumi_kubernetes_cert_manager as cert_manager

from components import (
    Bookinfo,
    IngressGateway,
    IstioControlPlane,
    Jaeger,
    JaegerUi,
    LoadGenerator,
    MeshSecurity,
    MeshTracing,
)
from components.bookinfo import PRODUCT_PAGE_PATH
from components.load_generator import LOAD_GENERATOR
from components.options import JaegerUiAccess
from settings import load_settings
from settings.component_args import (
    bookinfo_args,
    bookinfo_host,
    cert_manager_args,
    control_plane_args,
    gateway_args,
    jaeger_args,
    jaeger_ui_args,
    load_generator_args,
    mesh_security_args,
    mesh_tracing_args,
    needs_cert_manager,
    tracing_backend,
)

settings = load_settings()
mesh = settings.mesh

# The tracing backend first: istiod's mesh config points at it.
jaeger = Jaeger("jaeger", jaeger_args(settings)) if mesh.jaeger_enabled else None
backend = tracing_backend(settings, jaeger)

control_plane = IstioControlPlane("istio", control_plane_args(settings, backend))
istio_ready = [control_plane.crds, control_plane.istiod]
mesh_tracing = MeshTracing(
    "tracing", mesh_tracing_args(settings, backend, control_plane.root_namespace, istio_ready)
)
mesh_security = MeshSecurity(
    "security", mesh_security_args(settings, control_plane.root_namespace, istio_ready)
)

# The way in: cert-manager (unless the cluster has it), then the gateway after a ready istiod.
certificates = (
    cert_manager.CertManager("cert-manager", cert_manager_args(settings))
    if needs_cert_manager(settings)
    else None
)
gateway = IngressGateway("ingress", gateway_args(settings, control_plane, certificates))
jaeger_ui = None
if jaeger is not None and mesh.gateway.jaeger_ui.access is JaegerUiAccess.GATEWAY:
    jaeger_ui = JaegerUi("jaeger-ui", jaeger_ui_args(settings, gateway, jaeger, istio_ready))

# The sample apps wait for a ready istiod (sidecars) and the Telemetry (traced from the first request).
bookinfo = None
if mesh.bookinfo.enabled:
    mesh_ready = [*istio_ready, mesh_tracing.telemetry]
    bookinfo = Bookinfo("bookinfo", bookinfo_args(settings, control_plane, gateway, mesh_ready))
    if mesh.bookinfo.load_generator.enabled:
        LoadGenerator(LOAD_GENERATOR, load_generator_args(settings, bookinfo, gateway, mesh_ready))

pulumi.export("environment", mesh.environment.value)
pulumi.export("istioRevision", control_plane.revision)
pulumi.export("injectionLabels", control_plane.injection_labels)
pulumi.export("tracingProvider", mesh_tracing.provider_name)
pulumi.export("samplingPercentage", mesh_tracing.sampling_percentage)
pulumi.export("mtlsMode", mesh_security.mtls_mode)
pulumi.export("gatewayAddress", gateway.address)
pulumi.export("gatewayTls", gateway.tls_mode)
pulumi.export("appUrl", gateway.url(mesh.gateway.hosts[0]))
if bookinfo is not None:
    pulumi.export("bookinfoNamespace", bookinfo.namespace)
    pulumi.export(
        "productPageUrl", pulumi.Output.concat(gateway.url(bookinfo_host(settings)), PRODUCT_PAGE_PATH)
    )
    pulumi.export("jaegerServiceName", bookinfo.jaeger_service)
if jaeger is not None:
    pulumi.export("jaegerStorage", jaeger.storage_kind)
    pulumi.export("jaegerOtlpGrpcEndpoint", jaeger.otlp_grpc_endpoint)
    pulumi.export("jaegerOtlpHttpEndpoint", jaeger.otlp_http_endpoint)
    pulumi.export("jaegerZipkinEndpoint", jaeger.zipkin_endpoint)
    if jaeger_ui is not None:
        jaeger_ui_url = gateway.url(jaeger_ui.host)
    else:
        jaeger_ui_url = pulumi.Output.from_input(f"http://localhost:{jaeger.query_port}")
        pulumi.export(
            "jaegerUiPortForward",
            pulumi.Output.format(
                "kubectl -n {0} port-forward svc/{1} {2}:{2}",
                jaeger.namespace,
                jaeger.query_service_name,
                jaeger.query_port,
            ),
        )
    pulumi.export("jaegerUi", jaeger_ui_url)
    if bookinfo is not None:
        pulumi.export(
            "jaegerSearch",
            pulumi.Output.format("{0}/search?service={1}", jaeger_ui_url, bookinfo.jaeger_service),
        )
