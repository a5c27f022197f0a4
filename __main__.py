"""Distributed tracing on an Istio mesh, per environment.

Settings are read and validated first; a bad stack config stops here, before any resource exists.
"""

import pulumi

from components import IstioControlPlane, Jaeger, MeshTracing
from settings import load_settings
from settings.component_args import (
    control_plane_args,
    jaeger_args,
    mesh_tracing_args,
    tracing_backend,
)

settings = load_settings()

# The tracing backend first: istiod's mesh config points at it.
jaeger = Jaeger("jaeger", jaeger_args(settings)) if settings.mesh.jaeger_enabled else None
backend = tracing_backend(settings, jaeger)

control_plane = IstioControlPlane("istio", control_plane_args(settings, backend))
mesh_tracing = MeshTracing(
    "tracing",
    mesh_tracing_args(
        settings, backend, control_plane.root_namespace, [control_plane.crds, control_plane.istiod]
    ),
)

pulumi.export("environment", settings.mesh.environment.value)
pulumi.export("istioRevision", control_plane.revision)
pulumi.export("injectionLabels", control_plane.injection_labels)
pulumi.export("tracingProvider", mesh_tracing.provider_name)
pulumi.export("samplingPercentage", mesh_tracing.sampling_percentage)
if jaeger is not None:
    pulumi.export("jaegerStorage", jaeger.storage_kind)
    pulumi.export("jaegerOtlpGrpcEndpoint", jaeger.otlp_grpc_endpoint)
    pulumi.export("jaegerOtlpHttpEndpoint", jaeger.otlp_http_endpoint)
    pulumi.export("jaegerZipkinEndpoint", jaeger.zipkin_endpoint)
    pulumi.export(
        "jaegerUiPortForward",
        pulumi.Output.format(
            "kubectl -n {0} port-forward svc/{1} {2}:{2}",
            jaeger.namespace,
            jaeger.query_service_name,
            jaeger.query_port,
        ),
    )
