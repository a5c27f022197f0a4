"""Turns validated stack settings into component args: the only place that knows both shapes."""

from components.helm import ChartSource
from components.istio_control_plane import IstioControlPlaneArgs
from settings.loader import StackSettings


def istio_chart_source(settings: StackSettings) -> ChartSource:
    istio = settings.mesh.istio
    return ChartSource(
        repository=istio.chart_repository,
        version=istio.version,
        username=istio.chart_repository_username,
        password=settings.secrets.get("istioChartRepositoryPassword"),
    )


def control_plane_args(settings: StackSettings) -> IstioControlPlaneArgs:
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
        "extra_values": istio.extra_values.model_dump(),
    }
