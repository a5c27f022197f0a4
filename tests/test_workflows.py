"""The GitHub workflows: valid against the workflow JSON schema (offline), and wired for the review flow."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import stacks
from tests.program import PROJECT_DIR, STACKS

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"


def schema_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(command), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def workflow(name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return document


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action)]


def test_every_workflow_is_valid_against_the_github_workflow_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert len(files) >= 4
    result = schema_check(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = workflow("preview.yml")
    broken["jobs"]["plan-diff"]["runs_on"] = broken["jobs"]["plan-diff"].pop("runs-on")
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert schema_check(path).returncode != 0


def stack_outputs() -> dict[str, list[str]]:
    """What `scripts/stacks.py github` gives the workflows."""
    result = subprocess.run(
        [sys.executable, "scripts/stacks.py", "github"], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    return {
        key: json.loads(value) for key, value in (line.split("=", 1) for line in result.stdout.splitlines())
    }


def test_the_workflows_find_the_same_stacks_as_the_tests_grouped_by_environment() -> None:
    outputs = stack_outputs()
    assert outputs["all"] == list(STACKS)
    assert {stack for group, stacks in outputs.items() if group != "all" for stack in stacks} == set(STACKS)
    assert outputs["prod"] == ["prod"] and outputs["dev"] == ["dev"]


def test_pull_requests_get_a_pulumi_preview_per_stack_file_commented_on_the_pr() -> None:
    preview = workflow("preview.yml")
    plan_diff = preview["jobs"]["plan-diff"]
    assert plan_diff["outputs"]["stacks"] == "${{ steps.stacks.outputs.all }}"
    (listing,) = [s for s in plan_diff["steps"] if s.get("id") == "stacks"]
    assert "scripts/stacks.py github" in listing["run"]
    job = preview["jobs"]["pulumi-preview"]
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.plan-diff.outputs.stacks) }}"
    (step,) = steps_using(job, "pulumi/actions@")
    assert step["with"]["command"] == "preview"
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert step["with"]["comment-on-pr"] is True and step["with"]["diff"] is True
    assert step["with"]["policyPacks"] == "policy"
    assert any("scripts/stacks.py environment" in s.get("run", "") for s in job["steps"])


def test_pull_requests_get_the_plan_diff_with_replacements_and_fail_on_refused_or_stale_plans() -> None:
    job = workflow("preview.yml")["jobs"]["plan-diff"]
    commands = "\n".join(s.get("run", "") for s in job["steps"])
    assert "make render" in commands and "mesh_tracing.tooling.plan_diff" in commands
    assert "gh pr comment" in commands and steps_using(job, "actions/upload-artifact@")
    render, last = next(s for s in job["steps"] if s.get("id") == "render"), job["steps"][-1]
    assert render["continue-on-error"] is True, "the comment is posted even when a stack is refused"
    assert (
        "steps.render.outcome" in last["env"]["RENDERED"] and "git diff --exit-code -- plans/" in last["run"]
    )


def test_merges_deploy_every_stack_dev_then_staging_then_prod_each_in_its_environment() -> None:
    deploy = workflow("deploy.yml")
    triggers = deploy["on"] if "on" in deploy else deploy[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    for environment in ("dev", "staging", "prod"):
        job = jobs[environment]
        assert (
            job["strategy"]["matrix"]["stack"] == f"${{{{ fromJSON(needs.stacks.outputs.{environment}) }}}}"
        )
        assert job["with"]["stack"] == "${{ matrix.stack }}"
        assert jobs["stacks"]["outputs"][environment].startswith(f"${{{{ steps.stacks.outputs.{environment}")
    assert (jobs["staging"]["needs"], jobs["prod"]["needs"]) == (["stacks", "dev"], ["stacks", "staging"])
    assert "!failure()" in jobs["staging"]["if"] and "!failure()" in jobs["prod"]["if"]
    up = workflow("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"
    (step,) = steps_using(up, "pulumi/actions@")
    assert step["with"]["command"] == "up"


def test_a_stack_of_environment_prod_gets_the_mandatory_policy_whatever_its_name(tmp_path: Path) -> None:
    inherited = {
        k: v for k, v in os.environ.items() if k != "MESH_TRACING_ENVIRONMENT"
    }  # `make test` sets it
    result = subprocess.run(
        ["make", "-p", "-n", "help", "STACK=prod"],
        cwd=PROJECT_DIR,
        env=inherited,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "MESH_TRACING_ENVIRONMENT := prod" in result.stdout

    prod_eu = tmp_path / "Pulumi.prod-eu.yaml"
    prod_eu.write_text("config:\n  mesh-tracing:environment: prod\n")
    assert stacks.environment("prod-eu", prod_eu) == "prod"
    assert stacks.environment("prod-eu", None) == "prod-eu"


@pytest.mark.parametrize("name", ["ci.yml"])
def test_ci_runs_exactly_the_readme_test_command(name: str) -> None:
    (job,) = workflow(name)["jobs"].values()
    assert [s["run"] for s in job["steps"] if "run" in s] == [".ci/run"]
    assert "make test" in (PROJECT_DIR / ".ci" / "run").read_text()


def test_make_preview_and_up_run_the_policy_pack_for_the_stacks_environment() -> None:
    for target in ("preview", "up"):
        result = subprocess.run(
            ["make", "-n", target, "STACK=prod"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30
        )
        assert "--policy-pack policy" in result.stdout, result.stdout


def test_the_kind_workflow_proves_the_traces_then_tears_down_and_purges() -> None:
    (job,) = workflow("e2e-kind.yml")["jobs"].values()
    commands = [s.get("run", "") for s in job["steps"]]
    order = [
        next(i for i, c in enumerate(commands) if target in c)
        for target in ("make up", "make verify", "make destroy", "make purge")
    ]
    assert order == sorted(order)
    purge = next(s for s in job["steps"] if "make purge" in s.get("run", ""))
    assert purge["env"] == {"PURGE_CONFIRM": "dev"} and purge["if"] == "always()"
