"""The policy pack's rules, run on the rendered plans: the shipped stacks pass, and each rule catches a
minimal bad change."""

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from mesh_tracing import k8s as kube
from mesh_tracing.settings import SettingsError
from mesh_tracing.settings.environments import PROD_SAMPLING_RULE
from policy.rules import POLICIES, Resource
from tests.program import (
    STACKS,
    committed_plan,
    plan_document,
    plan_path,
    run_program,
    run_program_expecting_error,
)

Plan = list[dict[str, Any]]


def plan(stack: str) -> Plan:
    resources: Plan = committed_plan(stack)["resources"]
    return resources


def violations(resources: Plan, environment: str, policy: str) -> list[str]:
    (rule,) = [p for p in POLICIES if p.name == policy]
    return rule.check([Resource(r["type"], r["name"], r["inputs"]) for r in resources], environment)


def named(resources: Plan, name: str) -> dict[str, Any]:
    (resource,) = [r for r in resources if r["name"] == name]
    return resource


def mutated(stack: str, change: Callable[[Plan], None]) -> Plan:
    resources = copy.deepcopy(plan(stack))
    change(resources)
    return resources


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("policy", [p.name for p in POLICIES])
def test_every_shipped_stack_passes_every_policy(stack: str, policy: str) -> None:
    assert violations(plan(stack), stack, policy) == []


def container(resources: Plan, name: str) -> dict[str, Any]:
    containers: list[dict[str, Any]] = named(resources, name)["inputs"]["spec"]["template"]["spec"][
        "containers"
    ]
    return containers[0]


HARDENING_BREAKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "root allowed": lambda c: c["securityContext"].update(runAsNonRoot=False),
    "privilege escalation": lambda c: c["securityContext"].update(allowPrivilegeEscalation=True),
    "capabilities kept": lambda c: c["securityContext"].update(capabilities={}),
    "writable root filesystem": lambda c: c["securityContext"].update(readOnlyRootFilesystem=False),
    "no seccomp profile": lambda c: c["securityContext"].update(seccompProfile={"type": "Unconfined"}),
    "no limits": lambda c: c["resources"].pop("limits"),
    "no probes": lambda c: c.pop("livenessProbe"),
    "latest image": lambda c: c.update(image="docker.io/jaegertracing/jaeger:latest"),
    "untagged image": lambda c: c.update(image="docker.io/jaegertracing/jaeger"),
}


@pytest.mark.parametrize("break_it", HARDENING_BREAKS.values(), ids=HARDENING_BREAKS.keys())
def test_an_unhardened_container_fails_in_prod(break_it: Callable[[dict[str, Any]], None]) -> None:
    resources = mutated("prod", lambda r: break_it(container(r, "jaeger-collector")))
    found = violations(resources, "prod", "hardened-workloads")
    assert found and all("jaeger-collector" in v for v in found)


def test_a_writable_root_filesystem_passes_only_with_its_reason() -> None:
    assert violations(plan("dev"), "dev", "hardened-workloads") == []
    resources = mutated(
        "dev", lambda r: named(r, "bookinfo-reviews-v2")["inputs"]["metadata"].pop("annotations")
    )
    assert violations(resources, "dev", "hardened-workloads") == [
        "Deployment bookinfo-reviews-v2, container reviews: needs a read-only root filesystem "
        f"(or {kube.WRITABLE_ROOT_REASON})"
    ]


def test_a_load_balancer_in_dev_fails() -> None:
    resources = mutated(
        "dev", lambda r: named(r, "ingress-chart")["inputs"]["values"]["service"].update(type="LoadBalancer")
    )
    assert violations(resources, "dev", "no-load-balancer-in-dev")
    service = {
        "type": "kubernetes:core/v1:Service",
        "name": "rendered",
        "inputs": {"spec": {"type": "LoadBalancer"}},
    }
    assert violations([*plan("dev"), service], "dev", "no-load-balancer-in-dev") == [
        "Service rendered is a LoadBalancer"
    ]
    assert violations(plan("prod"), "prod", "no-load-balancer-in-dev") == []


def test_memory_storage_in_prod_fails() -> None:
    def to_memory(resources: Plan) -> None:
        config_map = named(resources, "jaeger-collector-config")["inputs"]
        document = yaml.safe_load(config_map["data"]["config.yaml"])
        document["extensions"]["jaeger_storage"]["backends"]["traces"] = {"memory": {"max_traces": 1000}}
        config_map["data"]["config.yaml"] = yaml.safe_dump(document)

    assert violations(mutated("prod", to_memory), "prod", "no-memory-storage-in-prod")


def set_sampling(percentage: float, reason: str | None = None) -> Callable[[Plan], None]:
    def change(resources: Plan) -> None:
        telemetry = named(resources, "tracing-mesh-default")["inputs"]
        telemetry["spec"]["tracing"][0]["randomSamplingPercentage"] = percentage
        if reason:
            telemetry["metadata"]["annotations"] = {kube.SAMPLING_OVERRIDE: reason}

    return change


def test_sampling_above_ten_percent_in_prod_needs_a_recorded_reason() -> None:
    assert violations(mutated("prod", set_sampling(10)), "prod", "sampling-in-prod") == []
    assert violations(mutated("prod", set_sampling(25)), "prod", "sampling-in-prod")
    assert (
        violations(
            mutated("prod", set_sampling(25, "incident 4711: full traces for a week")),
            "prod",
            "sampling-in-prod",
        )
        == []
    )


def test_a_jaeger_ui_without_an_allowlist_or_tls_fails() -> None:
    without_allowlist = mutated("dev", lambda r: r.remove(named(r, "jaeger-ui-allowlist")))
    assert violations(without_allowlist, "dev", "jaeger-ui-protected") == [
        "VirtualService jaeger-ui-route: Jaeger UI host jaeger.localtest.me has no source-IP allowlist"
    ]
    without_tls = mutated(
        "dev", lambda r: named(r, "ingress-gateway")["inputs"]["spec"]["servers"][0].pop("tls")
    )
    assert "served without TLS" in violations(without_tls, "dev", "jaeger-ui-protected")[0]


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("istiod", lambda r: named(r, "istio-istiod")["inputs"]["values"].update(autoscaleMin=1)),
        ("gateway", lambda r: named(r, "ingress-chart")["inputs"]["values"].update(podDisruptionBudget={})),
        ("collector", lambda r: r.remove(named(r, "jaeger-collector-pdb"))),
    ],
)
def test_prod_without_a_disruption_budget_fails(name: str, change: Callable[[Plan], None]) -> None:
    found = violations(mutated("prod", change), "prod", "disruption-budgets-in-prod")
    assert len(found) == 1 and name in found[0].lower()


def test_a_budget_rendered_by_the_chart_satisfies_the_rule() -> None:
    def chart_budget_only(resources: Plan) -> None:
        named(resources, "istio-istiod")["inputs"]["values"].update(autoscaleMin=1)
        resources.append(
            {
                "type": "kubernetes:policy/v1:PodDisruptionBudget",
                "name": "istio-istiod:istio-system/istiod-1-30-3",
                "inputs": {"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "istiod"}}}},
            }
        )

    assert violations(mutated("prod", chart_budget_only), "prod", "disruption-budgets-in-prod") == []


def test_permissive_mtls_in_prod_fails() -> None:
    resources = mutated(
        "prod",
        lambda r: named(r, "security-peer-authentication")["inputs"]["spec"]["mtls"].update(
            mode="PERMISSIVE"
        ),
    )
    assert violations(resources, "prod", "strict-mtls-in-prod") == [
        "no mesh-wide PeerAuthentication with mtls mode STRICT"
    ]
    assert violations(resources, "dev", "strict-mtls-in-prod") == []


def test_anonymous_grafana_or_kiali_in_prod_fails_on_the_plan_and_on_what_the_charts_render() -> None:
    def anonymous(resources: Plan) -> None:
        values = named(resources, "grafana-chart")["inputs"]["values"]
        values["grafana.ini"]["auth.anonymous"] = {"enabled": True}
        named(resources, "kiali-chart")["inputs"]["values"]["auth"]["strategy"] = "anonymous"

    found = violations(mutated("prod", anonymous), "prod", "people-log-in-in-prod")
    assert len(found) == 2 and "Grafana" in found[0] and "Kiali" in found[1]
    assert violations(plan("dev"), "dev", "people-log-in-in-prod") == []  # dev is anonymous, on purpose

    def rendered(grafana_ini: str) -> Plan:
        """The ConfigMaps the two charts render, as a real preview shows them."""
        return [
            {
                "type": "kubernetes:core/v1:ConfigMap",
                "name": "grafana",
                "inputs": {"data": {"grafana.ini": grafana_ini}},
            },
            {
                "type": "kubernetes:core/v1:ConfigMap",
                "name": "kiali",
                "inputs": {"data": {"config.yaml": "auth:\n  strategy: anonymous\n"}},
            },
        ]

    open_grafana = "[analytics]\nenabled = false\n[auth.anonymous]\nenabled = true\n"
    closed_grafana = "[auth.anonymous]\nenabled = false\n[analytics]\nenabled = true\n"
    assert len(violations([*plan("prod"), *rendered(open_grafana)], "prod", "people-log-in-in-prod")) == 2
    assert len(violations([*plan("prod"), *rendered(closed_grafana)], "prod", "people-log-in-in-prod")) == 1


def test_the_pack_enforces_every_rule_by_a_unique_name() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) == 8
    main = (plan_path("dev").parents[1] / "policy" / "__main__.py").read_text()
    assert "for p in POLICIES" in main and "EnforcementLevel.MANDATORY if ENVIRONMENT == PROD" in main


def test_a_high_sampling_reason_from_the_stack_config_satisfies_the_sampling_policy() -> None:
    high = {"tracing.samplingPercentage": 25}
    reason = {**high, "tracing.highSamplingReason": "incident 4711: full traces for a week"}
    with_reason = plan_document("prod", run_program("prod", overrides=reason))["resources"]
    assert violations(with_reason, "prod", "sampling-in-prod") == []


def test_settings_refuse_high_prod_sampling_in_the_policy_packs_words() -> None:
    error, registered = run_program_expecting_error("prod", overrides={"tracing.samplingPercentage": 25})
    assert isinstance(error, SettingsError) and registered == []
    assert error.paths == ["tracing.samplingPercentage"]
    (policy_says,) = violations(mutated("prod", set_sampling(25)), "prod", "sampling-in-prod")
    assert PROD_SAMPLING_RULE in str(error) and PROD_SAMPLING_RULE in policy_says
