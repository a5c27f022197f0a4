"""Istio's five standard views as Grafana dashboards: mesh, service, workload, control plane and performance.

They are generated here with Grafana Labs' dashboard builders (grafana-foundation-sdk), not copied, and
query only the metrics Istio 1.30 emits: the proxies' standard metrics (`istio_requests_total`,
`istio_request_duration_milliseconds`, `istio_request_bytes`, `istio_response_bytes`, `istio_tcp_*`),
istiod's (`pilot_*`, and the Go runtime's), and the kubelet's container metrics for the proxies' cost.
"""

import json
from collections.abc import Callable

from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink, QueryVariable
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DashboardLinkType, DataSourceRef, VariableRefresh

PROMETHEUS_UID = "prometheus"
"""The Prometheus datasource's uid, as Grafana is provisioned with it."""
JAEGER_UID = "jaeger"
"""The Jaeger datasource's uid."""
FOLDER = "Istio"
WINDOW = "[1m]"
INBOUND = 'reporter="destination"'
OUTBOUND = 'reporter="source"'
_DATASOURCE = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)

Panel = timeseries.Panel | stat.Panel | table.Panel


def _query(expr: str, legend: str = "") -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend or "__auto").ref_id("A")


def _series(title: str, unit: str, *queries: tuple[str, str]) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(_DATASOURCE).height(8).span(12)
    for index, (expr, legend) in enumerate(queries):
        panel = panel.with_target(_query(expr, legend).ref_id(chr(ord("A") + index)))
    return panel


def _stat(title: str, unit: str, expr: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .unit(unit)
        .datasource(_DATASOURCE)
        .height(4)
        .span(6)
        .with_target(_query(expr))
    )


def _rate(metric: str, selector: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum(rate({metric}{{{selector}}}{WINDOW})){grouping}"


def _quantile(q: float, metric: str, selector: str, by: str = "") -> str:
    return f"histogram_quantile({q}, sum(rate({metric}_bucket{{{selector}}}{WINDOW})) by (le{', ' + by if by else ''}))"


def _success(selector: str, by: str = "") -> str:
    ok = _rate("istio_requests_total", f'{selector}, response_code!~"5.."', by)
    return f"{ok} / {_rate('istio_requests_total', selector, by)}"


def _variable(name: str, label: str, query: str) -> QueryVariable:
    return (
        QueryVariable(name)
        .label(label)
        .datasource(_DATASOURCE)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .include_all(False)
    )


def _namespace() -> QueryVariable:
    return _variable(
        "namespace", "Namespace", "label_values(istio_requests_total, destination_workload_namespace)"
    )


def _dashboard(uid: str, title: str, panels: list[Panel]) -> Dashboard:
    board = Dashboard(title).uid(uid).tags(["istio", "mesh-tracing"]).refresh("30s").time("now-30m", "now")
    for panel in panels:
        board = board.with_panel(panel)
    return board


def _traces_link(jaeger_url: str) -> DashboardLink:
    # Jaeger names a proxy's spans `<canonical service>.<namespace>`, the service these dashboards pick.
    return (
        DashboardLink("Traces of this service in Jaeger")
        .type(DashboardLinkType.LINK)
        .url(f"{jaeger_url}/search?service=${{service}}.${{namespace}}&lookback=1h&limit=20")
        .target_blank(True)
    )


def mesh() -> Dashboard:
    latency = "istio_request_duration_milliseconds"
    return _dashboard(
        "istio-mesh",
        "Istio Mesh Dashboard",
        [
            _stat("Requests", "reqps", _rate("istio_requests_total", INBOUND)),
            _stat("Success rate (non-5xx)", "percentunit", _success(INBOUND)),
            _stat("4xx", "reqps", _rate("istio_requests_total", f'{INBOUND}, response_code=~"4.."')),
            _stat("5xx", "reqps", _rate("istio_requests_total", f'{INBOUND}, response_code=~"5.."')),
            _series(
                "Requests by service",
                "reqps",
                (_rate("istio_requests_total", INBOUND, "destination_service"), ""),
            ),
            _series(
                "P99 latency by service", "ms", (_quantile(0.99, latency, INBOUND, "destination_service"), "")
            ),
            _series("Success rate by service", "percentunit", (_success(INBOUND, "destination_service"), "")),
            _series(
                "TCP bytes by service",
                "Bps",
                (
                    _rate("istio_tcp_sent_bytes_total", INBOUND, "destination_service"),
                    "sent {{destination_service}}",
                ),
                (
                    _rate("istio_tcp_received_bytes_total", INBOUND, "destination_service"),
                    "received {{destination_service}}",
                ),
            ),
        ],
    )


def _traffic(selector: str, by: str) -> list[Panel]:
    latency = "istio_request_duration_milliseconds"
    return [
        _series("Requests", "reqps", (_rate("istio_requests_total", selector, by), "")),
        _series("Success rate (non-5xx)", "percentunit", (_success(selector, by), "")),
        _series(
            "Latency",
            "ms",
            (_quantile(0.5, latency, selector), "p50"),
            (_quantile(0.9, latency, selector), "p90"),
            (_quantile(0.99, latency, selector), "p99"),
        ),
        _series(
            "Request and response sizes (p90)",
            "bytes",
            (_quantile(0.9, "istio_request_bytes", selector), "request"),
            (_quantile(0.9, "istio_response_bytes", selector), "response"),
        ),
    ]


def service(jaeger_url: str) -> Dashboard:
    selector = (
        f'{INBOUND}, destination_workload_namespace="$namespace", destination_canonical_service="$service"'
    )
    board = _dashboard("istio-service", "Istio Service Dashboard", _traffic(selector, "source_workload"))
    return (
        board.with_variable(_namespace())
        .with_variable(
            _variable(
                "service",
                "Service",
                'label_values(istio_requests_total{destination_workload_namespace="$namespace"}, '
                "destination_canonical_service)",
            )
        )
        .link(_traces_link(jaeger_url))
    )


def workload(jaeger_url: str) -> Dashboard:
    inbound = f'{INBOUND}, destination_workload_namespace="$namespace", destination_workload="$workload"'
    outbound = f'{OUTBOUND}, source_workload_namespace="$namespace", source_workload="$workload"'
    panels = _traffic(inbound, "source_workload")
    panels.append(
        _series(
            "Outbound requests", "reqps", (_rate("istio_requests_total", outbound, "destination_service"), "")
        )
    )
    board = _dashboard("istio-workload", "Istio Workload Dashboard", panels)
    return (
        board.with_variable(_namespace())
        .with_variable(
            _variable(
                "workload",
                "Workload",
                'label_values(istio_requests_total{destination_workload_namespace="$namespace"}, destination_workload)',
            )
        )
        .with_variable(
            _variable(
                "service",
                "Service",
                'label_values(istio_requests_total{destination_workload_namespace="$namespace", '
                'destination_workload="$workload"}, destination_canonical_service)',
            )
        )
        .link(_traces_link(jaeger_url))
    )


def control_plane() -> Dashboard:
    istiod = 'job="istiod"'
    return _dashboard(
        "istio-control-plane",
        "Istio Control Plane Dashboard",
        [
            _stat("Connected proxies", "short", "sum(pilot_xds)"),
            _series("xDS pushes by type", "ops", (_rate("pilot_xds_pushes", "", "type"), "")),
            _series(
                "Proxy convergence time",
                "s",
                (_quantile(0.5, "pilot_proxy_convergence_time", ""), "p50"),
                (_quantile(0.99, "pilot_proxy_convergence_time", ""), "p99"),
            ),
            _series("Push triggers", "ops", (_rate("pilot_push_triggers", "", "type"), "")),
            _series("istiod CPU", "short", (_rate("process_cpu_seconds_total", istiod, "pod"), "")),
            _series("istiod memory", "bytes", (f"process_resident_memory_bytes{{{istiod}}}", "{{pod}}")),
            _series("istiod goroutines", "short", (f"go_goroutines{{{istiod}}}", "{{pod}}")),
        ],
    )


def performance() -> Dashboard:
    proxy = 'container="istio-proxy"'
    cpu = _rate("container_cpu_usage_seconds_total", proxy)
    return _dashboard(
        "istio-performance",
        "Istio Performance Dashboard",
        [
            _series(
                "Proxy CPU by namespace",
                "short",
                (_rate("container_cpu_usage_seconds_total", proxy, "namespace"), ""),
            ),
            _series(
                "Proxy memory by namespace",
                "bytes",
                (f"sum(container_memory_working_set_bytes{{{proxy}}}) by (namespace)", ""),
            ),
            _series(
                "Proxy vCPU per 1000 requests/s",
                "short",
                (f"{cpu} / ({_rate('istio_requests_total', INBOUND)} / 1000)", "vCPU"),
            ),
            _series("istiod CPU", "short", (_rate("process_cpu_seconds_total", 'job="istiod"'), "istiod")),
        ],
    )


def dashboards(jaeger_url: str) -> dict[str, str]:
    """The dashboards as JSON files by name, for Grafana's file provider. `jaeger_url` is the Jaeger UI
    people click through to from a service's dashboard."""
    builders: dict[str, Callable[[], Dashboard]] = {
        "istio-mesh": mesh,
        "istio-service": lambda: service(jaeger_url),
        "istio-workload": lambda: workload(jaeger_url),
        "istio-control-plane": control_plane,
        "istio-performance": performance,
    }
    return {
        f"{name}.json": json.dumps(build().build(), cls=JSONEncoder, sort_keys=True, indent=1)
        for name, build in builders.items()
    }
