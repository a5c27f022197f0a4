"""Stack files as Pulumi has them, rendered offline: `secure:` values count as set secrets and show redacted;
a stack that `pulumi up` would refuse is reported by `make render`, without a traceback, and fails the
tests; and every stack file, whatever its name, is picked up with no other edit."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mesh_tracing.helm import deep_merge
from mesh_tracing.tooling import plan, plan_diff
from mesh_tracing.tooling.plan import REDACTED
from mesh_tracing.tooling.recorder import Project, StackFileError
from tests.program import PROJECT, copy_project, make, plan_document, run_program

STACK_KEY = "mesh-tracing:"
OTLP_WITH_TOKEN = {
    "kind": "otlp",
    "service": "otlp.example.com",
    "port": 443,
    "tokenHeader": "x-token",
}


def secure_ciphertext(stack: str, key: str) -> str:
    document = yaml.safe_load(PROJECT.stack_file(stack).read_text())
    value: str = document["config"][f"{STACK_KEY}{key}"]["secure"]
    return value


def edit_stack_file(project: Path, stack: str, edit: dict[str, object], remove: tuple[str, ...] = ()) -> None:
    path = Project(project).stack_file(stack)
    document = yaml.safe_load(path.read_text()) if path.exists() else {}
    config = document.setdefault("config", {})
    for key, value in edit.items():
        config[f"{STACK_KEY}{key}"] = (
            deep_merge(config.get(f"{STACK_KEY}{key}") or {}, value) if isinstance(value, dict) else value
        )
    for key in remove:
        config.pop(f"{STACK_KEY}{key}")
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def render_in(project: Path, capsys: pytest.CaptureFixture[str], *stacks: str) -> tuple[int, str]:
    """`make render` of `project`, in this process: the exit code and what it printed on stderr."""
    code = plan.main(["--project", str(project), *stacks])
    return code, capsys.readouterr().err


def pytest_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """This suite's tests, run in `project` (one process, no workers)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_secure_value_in_the_stack_file_counts_as_the_secret_set_and_shows_redacted() -> None:
    ciphertext = secure_ciphertext("prod", "jaegerStoragePassword")
    plan = plan_document("prod", run_program("prod"))
    credentials = next(r for r in plan["resources"] if r["name"] == "jaeger-storage-credentials")
    assert credentials["inputs"]["stringData"] == {"password": REDACTED}
    assert ciphertext not in yaml.safe_dump(plan)


def test_secure_values_for_every_required_secret_render_every_stack_with_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    # The dev stack now sends spans to an OTLP endpoint that needs a token: a second required secret.
    token = {"secure": "v1:bm9uY2Vub25jZTEy:Y2lwaGVydGV4dC1vZi10aGUtdG9rZW4="}
    edit_stack_file(project, "dev", {"tracing": {"samplingPercentage": 1, "backend": OTLP_WITH_TOKEN}})
    edit_stack_file(
        project, "dev", {"tracingBackendToken": token, "gateway": {"jaegerUi": {"access": "none"}}}
    )
    code, errors = render_in(project, capsys)
    assert code == 0, errors
    dev = yaml.safe_load((project / "plans" / "dev.yaml").read_text())
    (env,) = [r for r in dev["resources"] if r["name"] == "istio-istiod-env"]
    assert env["inputs"]["stringData"] == {"TRACING_BACKEND_TOKEN": REDACTED}
    assert token["secure"] not in yaml.safe_dump(dev)


def test_prod_without_its_password_is_reported_by_make_render_as_pulumi_up_reports_it(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    edit_stack_file(project, "prod", {}, remove=("jaegerStoragePassword",))
    result = make(project, "render", "STACK=prod")
    assert result.returncode != 0
    # What `pulumi up` prints for the program's RunError: `error: ` and its message, no traceback.
    assert result.stderr.startswith("error: Invalid configuration for stack 'prod' (1 problem)")
    assert "[stack prod] jaegerStoragePassword: got (not set)" in result.stderr
    assert "pulumi config set --secret jaegerStoragePassword <value> --stack prod" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    plan = yaml.safe_load((project / "plans" / "prod.yaml").read_text())
    assert "resources" not in plan
    assert any("jaegerStoragePassword: got (not set)" in line for line in plan["refused"])


def test_prod_with_its_password_in_plain_text_is_refused_without_showing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    edit_stack_file(project, "prod", {"jaegerStoragePassword": "in-plain-text"})
    code, errors = render_in(project, capsys, "prod")
    assert code == 1
    assert "[stack prod] jaegerStoragePassword: got (plain text, value not shown)" in errors
    assert "Traceback" not in errors
    assert "in-plain-text" not in errors + (project / "plans" / "prod.yaml").read_text()


def test_a_stack_file_that_is_not_yaml_is_named_with_its_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    path = project / "stacks" / "Pulumi.staging.yaml"
    lines = path.read_text().splitlines()
    at = lines.index("config:") + 1
    lines.insert(at, "  mesh-tracing:broken: a: b")  # a second `: ` on one line
    path.write_text("\n".join(lines) + "\n")
    code, errors = render_in(project, capsys, "staging")
    assert code == 1
    found = re.search(
        r"stacks/Pulumi\.staging\.yaml:(\d+):\d+: the stack file of 'staging' is not valid YAML", errors
    )
    assert found and int(found.group(1)) == at + 1, errors
    assert "Traceback" not in errors
    assert "refused" in (project / "plans" / "staging.yaml").read_text()


def test_a_missing_stack_file_names_the_stack_and_how_to_create_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, errors = render_in(PROJECT.directory, capsys, "qa")
    assert code == 1
    assert "Stack 'qa' has no stack file stacks/Pulumi.qa.yaml" in errors
    assert "cp stacks/Pulumi.dev.yaml stacks/Pulumi.qa.yaml" in errors
    assert "pulumi config set environment dev --stack qa" in errors
    assert "Traceback" not in errors
    assert not (PROJECT.directory / "plans" / "qa.yaml").exists()
    with pytest.raises(StackFileError, match="no stack file"):
        PROJECT.stack_config("qa")


def test_the_plan_of_a_deleted_stack_file_is_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    (project / "stacks" / "Pulumi.staging.yaml").unlink()
    assert render_in(project, capsys) == (0, "")
    assert sorted(p.name for p in (project / "plans").glob("*.yaml")) == ["dev.yaml", "prod.yaml"]


def test_every_stack_file_is_rendered_tested_checked_for_staleness_and_in_the_plan_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    commit = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base"]
    subprocess.run(commit, cwd=project, check=True)

    # As the README says: a copy of another stack's file, with its environment.
    shutil.copy(project / "stacks" / "Pulumi.dev.yaml", project / "stacks" / "Pulumi.qa.yaml")
    edit_stack_file(project, "qa", {"environment": "dev", "tracing": {"samplingPercentage": 25}})
    assert render_in(project, capsys) == (0, "")
    assert "randomSamplingPercentage: 25" in (project / "plans" / "qa.yaml").read_text()

    workflows = subprocess.run(
        [sys.executable, "scripts/stacks.py", "github"], cwd=project, capture_output=True, text=True
    )
    assert '"qa"' in workflows.stdout.splitlines()[0] and "dev=" in workflows.stdout

    assert plan_diff.main(["--project", str(project), "--base", "HEAD"]) == 0
    shown = capsys.readouterr().out
    assert (
        "### qa\nCreated:" in shown
        and "- kubernetes:telemetry.istio.io/v1:Telemetry::tracing-mesh-default" in shown
    )

    edit_stack_file(project, "qa", {"tracing": {"samplingPercentage": 30}})  # not rendered again: stale
    # And prod loses its password: a committed plan cannot hide a stack that `pulumi up` refuses.
    edit_stack_file(project, "prod", {}, remove=("jaegerStoragePassword",))
    tests = pytest_in(
        project,
        *("-rA", "tests/test_plans.py", "tests/test_policy.py"),
        *("-k", "qa or (current and prod)"),
    )
    outcomes = {m[2]: m[1] for m in re.finditer(r"^(PASSED|FAILED) (\S+)", tests.stdout, re.MULTILINE)}
    assert outcomes["tests/test_plans.py::test_the_committed_plan_is_current[qa]"] == "FAILED"
    assert "qa.yaml is stale: run `make render`" in tests.stdout
    stack_tests = {test.split("::")[0] for test in outcomes if "qa" in test}
    assert stack_tests == {"tests/test_plans.py", "tests/test_policy.py"}, outcomes
    assert outcomes["tests/test_plans.py::test_the_committed_plan_is_current[prod]"] == "FAILED"
    assert "SettingsError: Invalid configuration for stack 'prod'" in tests.stdout
