"""How far a config change reaches: render a stack twice and compare every resource's inputs."""

from typing import Any

from tests.program import STACKS, plan_document, plan_path, render, run_program

Change = dict[str, set[str]]


def resources(stack: str, overrides: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    plan = plan_document(stack, run_program(stack, overrides=overrides))
    return {f"{r['type']}::{r['name']}": r for r in plan["resources"]}


def change(stack: str, overrides: dict[str, Any]) -> Change:
    before, after = resources(stack), resources(stack, overrides)
    return {
        "changed": {k for k in before.keys() & after.keys() if before[k] != after[k]},
        "added": after.keys() - before.keys(),
        "removed": before.keys() - after.keys(),
    }


def inside(component: str, stack: str, overrides: dict[str, Any]) -> set[str]:
    """Keys of `component` (`type::name`) and everything under it, in the changed stack."""
    plan = resources(stack, overrides) | resources(stack)
    members = {component}
    while True:
        grown = members | {key for key, r in plan.items() if r.get("parent") in members}
        if grown == members:
            return members
        members = grown


def test_a_sampling_change_touches_one_resource_in_that_stack_only() -> None:
    overrides = {"tracing.samplingPercentage": 42}
    assert change("dev", overrides) == {
        "changed": {"kubernetes:telemetry.istio.io/v1:Telemetry::tracing-mesh-default"},
        "added": set(),
        "removed": set(),
    }
    # Rendered right after the changed dev stack, in the same process: nothing of dev's change leaks.
    for other in set(STACKS) - {"dev"}:
        assert render(other) == plan_path(other).read_text(), other


def test_an_exposure_change_touches_only_the_gateways_resources() -> None:
    overrides = {"gateway.exposure": "nodeport", "gateway.nodePorts": {"https": 30443}}
    diff = change("dev", overrides)
    touched = diff["changed"] | diff["added"] | diff["removed"]
    assert touched, "the exposure must reach the gateway"
    # The UIs link to each other through the gateway's URLs: those links change with its port.
    links = {
        "kubernetes:helm.sh/v4:Chart::grafana-chart",
        "kubernetes:core/v1:ConfigMap::grafana-dashboards",
        "kubernetes:helm.sh/v4:Chart::kiali-chart",
    }
    assert touched - links <= inside("mesh-tracing:index:IngressGateway::ingress", "dev", overrides)
    assert touched & links == links


def test_exposing_staging_publicly_touches_only_the_gateway_chart() -> None:
    diff = change("staging", {"gateway.exposure": "public", "gateway.cloud": None})
    assert diff == {
        "changed": {"kubernetes:helm.sh/v4:Chart::ingress-chart"},
        "added": set(),
        "removed": set(),
    }


def test_enabling_the_load_generator_adds_only_its_own_resources() -> None:
    overrides = {"bookinfo.loadGenerator.enabled": True}
    diff = change("staging", overrides)
    assert diff["changed"] == set() and diff["removed"] == set()
    assert diff["added"] == inside("mesh-tracing:index:LoadGenerator::loadgen", "staging", overrides)
    assert diff["added"] == {
        "mesh-tracing:index:LoadGenerator::loadgen",
        "kubernetes:apps/v1:Deployment::loadgen-deployment",
        "kubernetes:core/v1:ServiceAccount::loadgen-sa",
    }
