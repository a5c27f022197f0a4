"""Every value the charts get is one their templates read (see tests/chart_reads.py)."""

import pytest

from mesh_tracing import IstioControlPlane, IstioControlPlaneArgs
from mesh_tracing.tooling.recorder import Run, record
from tests.chart_reads import unread
from tests.program import STACKS, run_program

CHART = "kubernetes:helm.sh/v4:Chart"


def chart_values(run: Run) -> dict[str, dict[str, object]]:
    return {str(c.at("chart")): c.at("values") for c in run.of_type(CHART)}


@pytest.mark.parametrize("stack", STACKS)
def test_every_chart_value_of_every_stack_is_read_by_the_chart(stack: str) -> None:
    charts = chart_values(run_program(stack))
    assert set(charts) == {"base", "istiod", "gateway", "prometheus", "grafana", "kiali-server"}
    assert {chart: unread(chart, values) for chart, values in charts.items()} == {c: [] for c in charts}


def test_the_cni_chart_and_images_get_only_keys_they_read() -> None:
    args = IstioControlPlaneArgs(cni_enabled=True, hub="mirror.example.com/istio", tag="1.30.3-distroless")
    charts = chart_values(record(lambda: IstioControlPlane("mesh", args)))
    assert {chart: unread(chart, values) for chart, values in charts.items()} == {c: [] for c in charts}


def test_a_key_no_template_reads_is_caught() -> None:
    # Keys this project used to set: read by no template of the chart they were given to.
    assert unread("istiod", {"cni": {"enabled": True}, "pilot": {"cni": {"enabled": True}}}) == [
        "cni.enabled"
    ]
    assert unread("base", {"global": {"hub": "mirror.example.com", "istioNamespace": "istio-system"}}) == [
        "global.hub"
    ]
    assert unread("cni", {"global": {"istioNamespace": "istio-system"}}) == ["global.istioNamespace"]


def test_a_key_the_observability_charts_do_not_read_is_caught() -> None:
    assert unread("prometheus", {"server": {"retentionTime": "15d", "retention": "15d"}}) == [
        "server.retentionTime"
    ]
    # Kiali 2.29 ignores its Istio namespace setting (deprecated after v2.11): it finds istiod itself.
    assert unread("kiali-server", {"istio_namespace": "istio-system", "auth": {"strategy": "token"}}) == [
        "istio_namespace"
    ]
    assert unread("grafana", {"adminPasswordKey": "x", "admin": {"existingSecret": "s"}}) == [
        "adminPasswordKey"
    ]
