"""The committed plans: current, complete, deterministic, redacted, and fast to render."""

import time

import pytest
import yaml

from mesh_tracing.tooling.plan import REDACTED, REFRESH_COMMAND
from tests.program import STACKS, committed_plan, plan_document, plan_path, render, run_program


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_plan_is_current(stack: str) -> None:
    committed = plan_path(stack).read_text() if plan_path(stack).exists() else ""
    assert committed == render(stack), (
        f"{plan_path(stack).name} is stale: run `{REFRESH_COMMAND}` and commit plans/ with your change"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_holds_every_declared_resource_with_its_relations(stack: str) -> None:
    run = run_program(stack)
    plan = committed_plan(stack)
    assert len(plan["resources"]) == len(run.resources)
    keys = {f"{r['type']}::{r['name']}" for r in plan["resources"]}
    for resource in plan["resources"]:
        for reference in [resource.get("parent"), *resource.get("dependsOn", [])]:
            assert reference is None or reference in keys, f"{resource['name']} refers to {reference}"
    assert [r["name"] for r in plan["resources"]] == [
        r["name"] for r in sorted(plan["resources"], key=lambda r: (r["type"], r["name"]))
    ]


def test_rendering_is_deterministic() -> None:
    assert render("prod") == render("prod")


def test_secrets_are_redacted_visibly() -> None:
    secret = "plan-must-not-show-this"
    plan = plan_document("prod", run_program("prod", secrets={"jaegerStoragePassword": secret}))
    text = yaml.safe_dump(plan)
    assert secret not in text
    credentials = next(r for r in plan["resources"] if r["name"] == "jaeger-storage-credentials")
    assert credentials["inputs"]["stringData"] == {"password": REDACTED}


def test_options_that_matter_are_in_the_plan() -> None:
    plan = committed_plan("staging")
    by_name = {r["name"]: r for r in plan["resources"]}
    assert by_name["jaeger-badger"]["options"] == {"retainOnDelete": True}
    assert by_name["istio-base"]["options"] == {"transforms": ["retain_crds"]}
    assert by_name["ingress-service"]["options"] == {"read": True}


def test_every_resource_starts_with_a_heading_that_names_it_for_diff_hunks() -> None:
    text = plan_path("dev").read_text()
    headings = [
        line.removeprefix("# ") for line in text.splitlines() if line.startswith("# ") and "::" in line
    ]
    entries = yaml.safe_load(text)["resources"]
    assert headings == [f"{r['type']}::{r['name']}" for r in entries]


def test_every_stack_renders_well_within_ten_seconds() -> None:
    started = time.perf_counter()
    for stack in STACKS:
        render(stack)
    assert time.perf_counter() - started < 10
