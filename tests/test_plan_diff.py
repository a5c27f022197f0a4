"""The plan diff of a change: replacements called out with what forces them, and every hunk named after the
resource it is in."""

import shutil
import subprocess
from pathlib import Path

import pytest

from mesh_tracing.tooling import plan_diff
from mesh_tracing.tooling.plan_diff import compare, replacement_reasons, report
from tests.program import PROJECT_DIR, plan_document, render, run_program


def test_an_istio_upgrade_calls_out_that_istiod_is_replaced_by_the_new_revision() -> None:
    before = plan_document("prod")
    after = plan_document("prod", run_program("prod", overrides={"istio.version": "1.30.4"}))
    change = compare("prod", before, after)
    (reason,) = change.replaced["kubernetes:helm.sh/v4:Chart::istio-istiod"]
    assert reason.startswith("`values.revision` 1-30-3 → 1-30-4: ")
    assert "pods injected by the old revision" in reason
    assert change.upgraded["kubernetes:helm.sh/v4:Chart::istio-base"] == "`version` 1.30.3 → 1.30.4"
    assert "kubernetes:helm.sh/v4:Chart::ingress-chart" not in change.replaced, "the gateway is upgraded"
    text = report(change, before)
    assert text.index("**Replaced**") < text.index("**Charts at a new version**")


def test_a_sampling_change_is_an_update_in_place_with_nothing_replaced() -> None:
    before = plan_document("staging")
    after = plan_document("staging", run_program("staging", overrides={"tracing.samplingPercentage": 7}))
    change = compare("staging", before, after)
    assert change.updated == ["kubernetes:telemetry.istio.io/v1:Telemetry::tracing-mesh-default"]
    assert not (change.replaced or change.deleted or change.created or change.upgraded)


def test_dropping_the_badger_volume_says_that_it_is_kept_in_the_cluster() -> None:
    before = plan_document("staging")
    after = plan_document("staging", run_program("staging", overrides={"jaeger.storage": {"kind": "memory"}}))
    text = report(compare("staging", before, after), before)
    assert (
        "kubernetes:core/v1:PersistentVolumeClaim::jaeger-badger (retainOnDelete: left in the cluster)"
        in text
    )


@pytest.mark.parametrize(
    ("type_", "path", "replaced"),
    [
        ("kubernetes:apps/v1:Deployment", ("spec", "selector"), True),
        ("kubernetes:apps/v1:Deployment", ("spec", "replicas"), False),
        ("kubernetes:core/v1:ConfigMap", ("data",), True),
        ("kubernetes:core/v1:Service", ("spec", "clusterIP"), True),
        ("kubernetes:core/v1:Service", ("spec", "type"), False),
        ("kubernetes:core/v1:Namespace", ("metadata", "name"), True),
        ("kubernetes:networking.istio.io/v1:Gateway", ("metadata", "namespace"), True),
        ("kubernetes:networking.istio.io/v1:Gateway", ("spec", "servers"), False),
    ],
)
def test_the_kubernetes_providers_force_new_fields_replace_and_others_update(
    type_: str, path: tuple[str, ...], replaced: bool
) -> None:
    old: dict[str, object] = {"metadata": {"name": "a", "namespace": "n"}}
    new: dict[str, object] = {"metadata": {"name": "a", "namespace": "n"}}
    node = new
    for step in path[:-1]:
        node = node.setdefault(step, {})  # type: ignore[assignment]
    node[path[-1]] = "changed"
    assert bool(replacement_reasons(type_, old, new)) is replaced


def git(directory: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=directory, check=True, capture_output=True, text=True).stdout


def test_git_diff_names_the_resource_of_every_hunk_and_the_report_leads_with_replacements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(PROJECT_DIR / ".gitattributes", tmp_path)
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "prod.yaml").write_text(render("prod"))
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    upgraded = run_program("prod", overrides={"istio.version": "1.30.4", "jaeger.collector.maxReplicas": 9})
    (tmp_path / "plans" / "prod.yaml").write_text(render("prod", upgraded))

    headers = [line for line in git(tmp_path, "diff").splitlines() if line.startswith("@@")]
    assert any(h.endswith("@@ # kubernetes:helm.sh/v4:Chart::istio-istiod") for h in headers), headers
    assert any(
        h.endswith("# kubernetes:autoscaling/v2:HorizontalPodAutoscaler::jaeger-collector-hpa")
        for h in headers
    )

    assert plan_diff.main(["--project", str(tmp_path), "--base", "HEAD"]) == 0
    shown = capsys.readouterr().out
    assert shown.index("**Replaced**") < shown.index("```diff")
    assert "- **kubernetes:helm.sh/v4:Chart::istio-istiod**: `values.revision` 1-30-3 → 1-30-4" in shown
    assert "Updated in place:" in shown and "jaeger-collector-hpa" in shown


def test_an_unknown_base_revision_is_named_with_how_to_pick_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(tmp_path, "init", "-q")
    assert plan_diff.main(["--project", str(tmp_path), "--base", "origin/nowhere"]) == 2
    assert "no git revision 'origin/nowhere'" in capsys.readouterr().err
