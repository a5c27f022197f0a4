"""The GitHub workflows: valid against the workflow JSON schema (offline), and wired for the review flow."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

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


def test_pull_requests_get_a_pulumi_preview_per_stack_commented_on_the_pr() -> None:
    preview = workflow("preview.yml")
    job = preview["jobs"]["pulumi-preview"]
    assert job["strategy"]["matrix"]["stack"] == list(STACKS)
    (step,) = steps_using(job, "pulumi/actions@")
    assert step["with"]["command"] == "preview"
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert step["with"]["comment-on-pr"] is True and step["with"]["diff"] is True
    assert step["with"]["policyPacks"] == "policy"
    assert job["env"]["MESH_TRACING_ENVIRONMENT"] == "${{ matrix.stack }}"


def test_pull_requests_get_the_rendered_plan_diff() -> None:
    job = workflow("preview.yml")["jobs"]["plan-diff"]
    commands = "\n".join(s.get("run", "") for s in job["steps"])
    assert "make render" in commands and "-- plans/" in commands and "gh pr comment" in commands
    assert steps_using(job, "actions/upload-artifact@")


def test_merges_deploy_dev_then_staging_then_prod_each_in_its_environment() -> None:
    deploy = workflow("deploy.yml")
    triggers = deploy["on"] if "on" in deploy else deploy[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert [jobs[stack]["with"]["stack"] for stack in STACKS] == list(STACKS)
    assert (jobs["staging"]["needs"], jobs["prod"]["needs"]) == ("dev", "staging")
    up = workflow("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"
    (step,) = steps_using(up, "pulumi/actions@")
    assert step["with"]["command"] == "up"


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
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert "export MESH_TRACING_ENVIRONMENT ?= $(STACK)" in makefile
