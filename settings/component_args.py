"""Turns validated stack settings into component args: the only place that knows both shapes."""

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes_cert_manager as cert_manager

from components import k8s as kube
from components.bookinfo import PRODUCT_PAGE_PATH, Bookinfo, BookinfoArgs
from components.helm import ChartSource
from components.ingress_gateway import (
    HTTP_PORT,
    HTTPS_PORT,
    GatewayTlsArgs,
    IngressGateway,
    IngressGatewayArgs,
)
from components.istio_control_plane import IstioControlPlane, IstioControlPlaneArgs
from components.jaeger import Jaeger, JaegerArgs
from components.jaeger_storage import (
    BadgerStorage,
    CassandraStorage,
    JaegerStorage,
    MemoryStorage,
    SearchStorage,
    StorageTls,
)
from components.jaeger_ui import JaegerUiArgs
from components.load_generator import LOAD_GENERATOR, LoadGeneratorArgs
from components.mesh_security import MeshSecurityArgs
from components.mesh_tracing import MeshTracingArgs
from components.options import JaegerUiAccess, TlsMode
from components.tracing_backend import (
    DATADOG_APM_PORT,
    ZIPKIN_PORT,
    TracingBackend,
    datadog_backend,
    jaeger_backend,
    otlp_backend,
    zipkin_backend,
)
from settings.loader import StackSettings
from settings.model import StorageTlsSettings
from settings.secrets import ISTIO_CHART_REPOSITORY_PASSWORD, JAEGER_STORAGE_PASSWORD, TRACING_BACKEND_TOKEN


def istio_chart_source(settings: StackSettings) -> ChartSource:
    istio = settings.mesh.istio
    return ChartSource(
        repository=istio.chart_repository,
        version=istio.version,
        username=istio.chart_repository_username,
        password=settings.secrets.get(ISTIO_CHART_REPOSITORY_PASSWORD),
    )


def control_plane_args(settings: StackSettings, backend: TracingBackend) -> IstioControlPlaneArgs:
    istio = settings.mesh.istio
    return {
        "chart_source": istio_chart_source(settings),
        "revision": istio.effective_revision,
        "namespace": istio.namespace,
        "create_namespace": istio.create_namespace,
        "image_hub": istio.hub,
        "image_tag": istio.tag,
        "cni_enabled": istio.cni_enabled,
        "istiod_min_replicas": istio.istiod.min_replicas,
        "istiod_max_replicas": istio.istiod.max_replicas,
        "istiod_resources": istio.istiod.resources.as_kubernetes(),
        "extension_providers": [backend.extension_provider],
        "istiod_secret_env": backend.istiod_secret_env,
        "harden": istio.harden_control_plane,
        "extra_values": istio.extra_values.model_dump(),
    }


def _tls(settings: StorageTlsSettings) -> StorageTls:
    return StorageTls(
        enabled=settings.enabled,
        ca_pem=settings.ca_pem,
        insecure_skip_verify=settings.insecure_skip_verify,
        server_name=settings.server_name,
    )


def jaeger_storage(settings: StackSettings) -> JaegerStorage:
    storage = settings.mesh.jaeger.storage
    if storage.kind == "memory":
        return MemoryStorage(**(storage.memory.model_dump() if storage.memory else {}))
    if storage.kind == "badger":
        return BadgerStorage(**(storage.badger.model_dump() if storage.badger else {}))
    if storage.kind == "cassandra":
        assert storage.cassandra is not None  # the storage_choice rule guarantees it
        fields = storage.cassandra.model_dump(exclude={"tls", "servers"})
        return CassandraStorage(
            servers=tuple(storage.cassandra.servers), tls=_tls(storage.cassandra.tls), **fields
        )
    search = storage.elasticsearch if storage.kind == "elasticsearch" else storage.opensearch
    assert search is not None
    fields = search.model_dump(exclude={"tls", "server_urls"})
    return SearchStorage(
        engine=storage.kind, server_urls=tuple(search.server_urls), tls=_tls(search.tls), **fields
    )


def jaeger_args(settings: StackSettings) -> JaegerArgs:
    jaeger = settings.mesh.jaeger
    return {
        "storage": jaeger_storage(settings),
        "storage_password": settings.secrets.get(JAEGER_STORAGE_PASSWORD),
        "namespace": jaeger.namespace,
        "create_namespace": jaeger.create_namespace,
        "image": jaeger.image,
        "index_cleaner_image": jaeger.index_cleaner_image,
        "resources": jaeger.resources.as_kubernetes(),
        "collector_min_replicas": jaeger.collector.min_replicas,
        "collector_max_replicas": jaeger.collector.max_replicas,
        "collector_resources": jaeger.collector.resources.as_kubernetes(),
        "query_replicas": jaeger.query.replicas,
        "query_resources": jaeger.query.resources.as_kubernetes(),
    }


def tracing_backend(settings: StackSettings, jaeger: Jaeger | None) -> TracingBackend:
    backend = settings.mesh.tracing.backend
    if backend.kind == "jaeger":
        assert jaeger is not None  # the backend_target rule guarantees it
        return jaeger_backend(jaeger, backend.protocol)
    assert backend.service is not None
    if backend.kind == "zipkin":
        return zipkin_backend(backend.service, backend.port or ZIPKIN_PORT, backend.path)
    if backend.kind == "datadog":
        return datadog_backend(backend.service, backend.port or DATADOG_APM_PORT)
    assert backend.port is not None
    return otlp_backend(
        backend.service,
        backend.port,
        transport=backend.transport,
        path=backend.path or "/v1/traces",
        tls=backend.tls,
        token_header=backend.token_header,
        token=settings.secrets.get(TRACING_BACKEND_TOKEN),
    )


def custom_tags(settings: StackSettings) -> dict[str, dict[str, Any]]:
    """Telemetry `customTags`: the environment as a literal, then the configured tags."""
    tracing = settings.mesh.tracing
    tags: dict[str, dict[str, Any]] = {}
    if tracing.environment_tag:
        tags["environment"] = {"literal": {"value": settings.mesh.environment.value}}
    for name, tag in tracing.custom_tags.items():
        if tag.literal is not None:
            tags[name] = {"literal": {"value": tag.literal}}
            continue
        source, key = ("header", tag.header) if tag.header is not None else ("environment", tag.environment)
        tags[name] = {
            source: {"name": key, **({"defaultValue": tag.default_value} if tag.default_value else {})}
        }
    return tags


def mesh_security_args(
    settings: StackSettings, root_namespace: pulumi.Input[str], istio_ready: Sequence[pulumi.Resource]
) -> MeshSecurityArgs:
    return {
        "root_namespace": root_namespace,
        "mtls_mode": settings.mesh.istio.mtls_mode,
        "istio_ready": istio_ready,
    }


def mesh_tracing_args(
    settings: StackSettings,
    backend: TracingBackend,
    root_namespace: pulumi.Input[str],
    istio_ready: Sequence[pulumi.Resource],
) -> MeshTracingArgs:
    tracing = settings.mesh.tracing
    return {
        "backend": backend,
        "root_namespace": root_namespace,
        "sampling_percentage": tracing.sampling_percentage,
        "istio_ready": istio_ready,
        "custom_tags": custom_tags(settings),
        "sampling_override_reason": tracing.high_sampling_reason,
        "namespace_sampling": {o.namespace: o.sampling_percentage for o in tracing.namespace_overrides},
    }


def needs_cert_manager(settings: StackSettings) -> bool:
    tls = settings.mesh.gateway.tls
    return tls.mode not in (TlsMode.NONE, TlsMode.EXISTING) and tls.cert_manager.install


def cert_manager_args(settings: StackSettings) -> cert_manager.CertManagerArgs:
    options = settings.mesh.gateway.tls.cert_manager
    return cert_manager.CertManagerArgs(
        install_crds=True,
        helm_options=cert_manager.ReleaseArgs(
            namespace=options.namespace,
            create_namespace=True,
            version=options.version,
            repository_opts=cert_manager.RepositoryOptsArgs(repo=options.chart_repository),
        ),
    )


def gateway_hosts(settings: StackSettings) -> list[str]:
    """The app hosts, plus the Jaeger UI's when the UI is on the gateway."""
    gateway = settings.mesh.gateway
    ui = gateway.jaeger_ui
    return [*gateway.hosts, *([ui.host] if ui.access is JaegerUiAccess.GATEWAY and ui.host else [])]


def gateway_tls_args(
    settings: StackSettings, cert_manager_release: pulumi.Resource | None
) -> GatewayTlsArgs | None:
    tls = settings.mesh.gateway.tls
    if tls.mode is TlsMode.NONE:
        return None
    args: GatewayTlsArgs = {
        "mode": tls.mode,
        "acme_email": tls.acme_email,
        "cert_manager": cert_manager_release,
    }
    if tls.existing_secret_name:
        args["secret_name"] = tls.existing_secret_name
    return args


def gateway_args(
    settings: StackSettings, control_plane: IstioControlPlane, cert_manager_release: pulumi.Resource | None
) -> IngressGatewayArgs:
    gateway = settings.mesh.gateway
    node_ports = {
        port: number
        for port, number in (
            (HTTP_PORT, gateway.node_ports and gateway.node_ports.http),
            (HTTPS_PORT, gateway.node_ports and gateway.node_ports.https),
        )
        if number
    }
    return {
        "chart_source": istio_chart_source(settings),
        "revision": control_plane.revision,
        "injection_labels": control_plane.injection_labels,
        "istiod": control_plane.istiod,
        "exposure": gateway.exposure,
        "hosts": gateway_hosts(settings),
        "name": gateway.name,
        "namespace": gateway.namespace,
        "cloud": gateway.cloud,
        "load_balancer_source_ranges": gateway.load_balancer_source_ranges,
        # Client addresses must survive the load balancer for the Jaeger UI allowlist to mean anything.
        "preserve_client_ip": gateway.jaeger_ui.access is JaegerUiAccess.GATEWAY,
        "node_ports": node_ports,
        "min_replicas": gateway.min_replicas,
        "max_replicas": gateway.max_replicas,
        "resources": gateway.resources.as_kubernetes(),
        "tls": gateway_tls_args(settings, cert_manager_release),
        "extra_values": gateway.extra_values,
    }


def jaeger_ui_args(
    settings: StackSettings, gateway: IngressGateway, jaeger: Jaeger, istio_ready: Sequence[pulumi.Resource]
) -> JaegerUiArgs:
    ui = settings.mesh.gateway.jaeger_ui
    assert ui.host is not None  # the jaeger_ui rule guarantees it
    return {
        "host": ui.host,
        "gateway": gateway.gateway,
        "gateway_namespace": gateway.namespace,
        "gateway_selector": gateway.selector_labels,
        "query_host": jaeger.query_host,
        "query_port": jaeger.query_port,
        "allowed_source_ranges": ui.allowed_source_ranges,
        "istio_ready": istio_ready,
    }


def bookinfo_host(settings: StackSettings) -> str:
    return settings.mesh.bookinfo.host or settings.mesh.gateway.hosts[0]


def load_generator_in_mesh(settings: StackSettings) -> bool:
    """Through the gateway when the product page has a concrete host there, in the mesh otherwise."""
    return bookinfo_host(settings) == "*"


def bookinfo_args(
    settings: StackSettings,
    control_plane: IstioControlPlane,
    gateway: IngressGateway,
    mesh_ready: Sequence[pulumi.Resource],
) -> BookinfoArgs:
    app = settings.mesh.bookinfo
    clients: list[pulumi.Input[str]] = [gateway.principal]
    if app.load_generator.enabled and load_generator_in_mesh(settings):
        clients.append(kube.principal(app.namespace, LOAD_GENERATOR))
    return {
        "default_deny": app.default_deny,
        "product_page_clients": clients,
        "injection_labels": control_plane.injection_labels,
        "mesh_ready": mesh_ready,
        "gateway": gateway.gateway,
        "host": bookinfo_host(settings),
        "namespace": app.namespace,
        "image_hub": app.image_hub,
        "image_tag": app.image_tag,
        "replicas": app.replicas,
        "reviews_weights": {str(version): weight for version, weight in app.reviews_weights.items()},
        "resources": app.resources.as_kubernetes(),
        "reviews_resources": app.reviews_resources.as_kubernetes(),
    }


def load_generator_args(
    settings: StackSettings,
    bookinfo: Bookinfo,
    gateway: IngressGateway,
    mesh_ready: Sequence[pulumi.Resource],
) -> LoadGeneratorArgs:
    load = settings.mesh.bookinfo.load_generator
    host = bookinfo_host(settings)
    through_gateway = not load_generator_in_mesh(settings)
    return {
        "namespace": bookinfo.namespace,
        "target_url": gateway.in_cluster_url(host).apply(lambda url: url + PRODUCT_PAGE_PATH)
        if through_gateway
        else bookinfo.product_page_url_in_mesh,
        "gateway_address": gateway.cluster_ip if through_gateway else None,
        "requests_per_second": load.requests_per_second,
        "mesh_ready": mesh_ready,
        "connections": load.connections,
        "image": load.image,
    }
