"""A platform team's stack that uses some of mesh-tracing's components with its own values, on a cluster
that already runs istiod (revision tag `prod-stable`, with an OpenTelemetry provider named `otel` in its
mesh config) and an Elasticsearch cluster.

It adds Jaeger on that Elasticsearch, the mesh-wide sampling, and an internal ingress gateway.
"""

import pulumi

from mesh_tracing import (
    ExposureMode,
    GatewayCertificateArgs,
    IngressGateway,
    IngressGatewayArgs,
    Jaeger,
    JaegerArgs,
    JaegerStorage,
    MeshTracing,
    MeshTracingArgs,
    ObjectKeyRef,
    SearchStorage,
    StorageKind,
    StorageTls,
    TlsMode,
    TracingBackend,
)
from mesh_tracing.ingress_gateway import Cloud
from mesh_tracing.jaeger import CollectorScale

config = pulumi.Config()

jaeger = Jaeger(
    "traces",
    JaegerArgs(
        namespace="observability",
        storage=JaegerStorage(
            kind=StorageKind.ELASTICSEARCH,
            elasticsearch=SearchStorage(
                server_urls=["https://search-es-http.search.svc.cluster.local:9200"],
                username="jaeger",
                index_prefix="shop",
                retention_days=30,
                tls=StorageTls(ca_config_map=ObjectKeyRef(name="search-ca")),
            ),
        ),
        storage_password=config.require_secret("elasticsearchPassword"),
        collector=CollectorScale(min_replicas=2, max_replicas=4),
    ),
)

# The cluster's istiod already reports to Jaeger through its provider `otel`: this stack sets the rate.
tracing = MeshTracing(
    "tracing",
    MeshTracingArgs(
        sampling_percentage=config.require_float("samplingPercentage"),
        backend=TracingBackend(name="otel"),
    ),
)

gateway = IngressGateway(
    "shop-gateway",
    IngressGatewayArgs(
        name="shop-gateway",
        namespace="shop-ingress",
        exposure=ExposureMode.INTERNAL_LB,
        cloud=Cloud.AWS,
        hosts=["shop.internal.example.com"],
        revision="prod-stable",
        min_replicas=2,
        max_replicas=4,
        tls=GatewayCertificateArgs(mode=TlsMode.EXISTING, existing_secret_name="shop-internal-tls"),
    ),
)

pulumi.export("collector", jaeger.otlp_grpc_endpoint)
pulumi.export("provider", tracing.provider_name)
pulumi.export("gateway", gateway.gateway)
