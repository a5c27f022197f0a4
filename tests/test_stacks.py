"""The shipped stacks: each renders, and each environment gets its own values."""

from collections.abc import Callable

import pytest

from mesh_tracing.settings import SettingsError
from mesh_tracing.tooling.recorder import REMOVE, Run
from tests.program import PROJECT, run_program_expecting_error

CHART = "kubernetes:helm.sh/v4:Chart"


def test_every_stack_renders_a_revisioned_control_plane(stack_run: tuple[str, Run]) -> None:
    stack, run = stack_run
    run.one(f"{PROJECT.name}:index:IstioControlPlane")
    istiod = run.named("istio-istiod")
    assert istiod.at("chart") == "istiod", stack
    assert istiod.at("values", "revision") == run.output("istioRevision") == "1-30-3"
    assert istiod.at("values", "revisionTags") == ["canary", "stable"]
    assert run.output("injectionLabels") == {"istio.io/rev": "stable"}
    assert run.output("environment") == stack


@pytest.mark.parametrize("key", ["tracing.samplingPercentage", "gateway.exposure"])
def test_sampling_and_exposure_have_no_preset_so_every_stack_states_them(key: str) -> None:
    error, registered = run_program_expecting_error("staging", overrides={key: REMOVE})
    assert isinstance(error, SettingsError) and registered == []
    assert error.paths == [key]
    assert "a value is required here" in str(error)


def test_prod_runs_istiod_highly_available(rendered: Callable[[str], Run]) -> None:
    values = rendered("prod").named("istio-istiod").at("values")
    assert values["autoscaleEnabled"] is True
    assert values["autoscaleMin"] >= 2
    assert values["global"]["defaultPodDisruptionBudget"]["enabled"] is True
    assert values["pdb"]["minAvailable"] == 1
    assert values["resources"]["requests"] == {"cpu": "500m", "memory": "2Gi"}


def test_dev_runs_a_single_small_istiod(rendered: Callable[[str], Run]) -> None:
    values = rendered("dev").named("istio-istiod").at("values")
    assert values["autoscaleEnabled"] is False
    assert values["replicaCount"] == 1
    assert values["global"]["defaultPodDisruptionBudget"]["enabled"] is False
    assert values["resources"]["requests"]["memory"] == "256Mi"


def test_staging_autoscales_istiod_from_one_replica(rendered: Callable[[str], Run]) -> None:
    values = rendered("staging").named("istio-istiod").at("values")
    assert (values["autoscaleEnabled"], values["autoscaleMin"], values["autoscaleMax"]) == (True, 1, 3)


ALWAYS = {
    "environment",
    "istioRevision",
    "injectionLabels",
    "tracingProvider",
    "samplingPercentage",
    "mtlsMode",
    "gatewayAddress",
    "gatewayTls",
    "appUrl",
    "jaegerStorage",
    "jaegerOtlpGrpcEndpoint",
    "jaegerOtlpHttpEndpoint",
    "jaegerZipkinEndpoint",
    "jaegerUi",
    "prometheusUrl",
    "prometheusUi",
    "prometheusPortForward",
    "grafanaUi",
    "grafanaAdminPassword",
    "kialiUi",
    "kialiAuth",
    "tracingTags",
}
WITH_BOOKINFO = {"bookinfoNamespace", "productPageUrl", "jaegerServiceName", "jaegerSearch"}
PORT_FORWARDED = {"jaegerUiPortForward", "grafanaPortForward", "kialiPortForward"}
"""Outside dev, the UIs stay off the gateway: each has its port-forward command."""


@pytest.mark.parametrize(
    ("stack", "extra"),
    [
        ("dev", {*WITH_BOOKINFO, "loadGeneratorRate"}),
        ("staging", {*WITH_BOOKINFO, *PORT_FORWARDED}),
        ("prod", PORT_FORWARDED),
    ],
)
def test_every_stack_exports_what_it_runs_all_resolved(
    stack: str, extra: set[str], rendered: Callable[[str], Run]
) -> None:
    run = rendered(stack)
    assert set(run.outputs) == ALWAYS | extra
    for name in run.outputs:
        run.output(name)  # raises UnresolvedOutputError if any never resolved


@pytest.mark.parametrize(
    ("stack", "storage"), [("dev", "memory"), ("staging", "badger"), ("prod", "elasticsearch")]
)
def test_each_stack_keeps_traces_in_its_storage(
    stack: str, storage: str, rendered: Callable[[str], Run]
) -> None:
    run = rendered(stack)
    assert run.output("jaegerStorage") == storage
    assert run.output("jaegerOtlpGrpcEndpoint") == "jaeger-collector.tracing.svc.cluster.local:4317"


def test_prod_runs_an_autoscaled_collector_with_a_disruption_budget(rendered: Callable[[str], Run]) -> None:
    run = rendered("prod")
    autoscaler = run.named("jaeger-collector-hpa").at("spec")
    assert autoscaler["minReplicas"] >= 2
    assert run.named("jaeger-collector-pdb").at("spec", "maxUnavailable") == 1
    assert run.named("jaeger-query").at("spec", "replicas") == 2
    assert run.named("jaeger-index-cleaner").at(
        "spec", "jobTemplate", "spec", "template", "spec", "containers"
    )[0]["args"] == ["14", "https://elasticsearch-es-http.elastic-system.svc.cluster.local:9200"]


def test_dev_and_staging_run_jaeger_all_in_one(rendered: Callable[[str], Run]) -> None:
    for stack in ("dev", "staging"):
        run = rendered(stack)
        jaeger = run.one("mesh-tracing:index:Jaeger")
        deployments = [r.name for r in run.descendants(jaeger) if r.type == "kubernetes:apps/v1:Deployment"]
        assert deployments == ["jaeger-all-in-one"], stack
        assert not run.of_type("kubernetes:policy/v1:PodDisruptionBudget")
