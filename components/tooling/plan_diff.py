"""What a change does to each stack, read from its rendered plans: which resources Pulumi will replace
(delete and create again) and why, which it deletes and creates, then the plan diff itself.

    python -m mesh_tracing.tooling.plan_diff [--project DIR] [--base REF]

The plans are compared with those of git revision REF (default `origin/main`). A replacement is called out
with the input that forces it, as the Kubernetes provider decides it (its `forceNew` fields: an object's
name or namespace, a workload's selector, a ConfigMap's or Secret's data, ...), and for Helm charts, a new
chart version or revision, whose objects are rendered anew.
"""

import argparse
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mesh_tracing.tooling.recorder import SAFE_LOADER

METADATA_FORCE_NEW = ("metadata.name", "metadata.namespace")
FORCE_NEW: Mapping[str, tuple[str, ...]] = {
    # From the Kubernetes provider's table of fields whose change replaces the object.
    "apps/v1:Deployment": ("spec.selector",),
    "apps/v1:DaemonSet": ("spec.selector",),
    "apps/v1:StatefulSet": (
        "spec.podManagementPolicy",
        "spec.revisionHistoryLimit",
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
    ),
    "core/v1:ConfigMap": ("binaryData", "data"),
    "core/v1:Secret": ("type", "stringData", "data"),
    "core/v1:Service": ("spec.clusterIP",),
    "core/v1:PersistentVolumeClaim": ("spec",),
    "batch/v1:Job": ("spec.completions", "spec.parallelism", "spec.selector", "spec.template"),
    "rbac.authorization.k8s.io/v1:RoleBinding": ("roleRef",),
    "rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("roleRef",),
    "storage.k8s.io/v1:StorageClass": ("parameters", "provisioner"),
}
CHART = "kubernetes:helm.sh/v4:Chart"
CHART_REPLACED: Mapping[str, str] = {
    "chart": "another chart: every object it rendered is replaced",
    "name": "a new release name: every object of the chart is replaced",
    "namespace": "another namespace: every object of the chart is replaced",
}
ISTIOD_REVISION = (
    "the objects named after the revision (Deployment istiod-<revision>, its Service and webhooks) are "
    "created anew and the old ones deleted; pods injected by the old revision keep their old sidecars "
    "until restarted, and lose their control plane when it goes"
)
LOSES_DATA = {"kubernetes:core/v1:Namespace", "kubernetes:core/v1:PersistentVolumeClaim"}


def _at(value: Any, path: str) -> Any:
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def _short(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()
    return text if len(text) <= 60 else text[:57] + "..."


def _changed(path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    before, after = _at(old, path), _at(new, path)
    return None if before == after else f"`{path}` {_short(before)} → {_short(after)}"


def replacement_reasons(type_: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Why Pulumi replaces a resource whose inputs go from `old` to `new` (empty: updated in place)."""
    if type_ == CHART:
        reasons = [
            f"{change}: {why}" for path, why in CHART_REPLACED.items() if (change := _changed(path, old, new))
        ]
        revision = _changed("values.revision", old, new)
        if new.get("chart") == "istiod" and revision:
            reasons.append(f"{revision}: {ISTIOD_REVISION}")
        return reasons
    kind = type_.removeprefix("kubernetes:")
    if kind == type_:
        return []  # a component: its children say what they do
    paths = (*METADATA_FORCE_NEW, *FORCE_NEW.get(kind, ()))
    return [f"`{path}` changed" for path in paths if _at(old, path) != _at(new, path)]


def chart_upgrade(type_: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """A chart at a new version renders its objects anew: each may change, and is replaced where a field
    that forces it changes, which the plan cannot show (the chart is rendered at deploy time)."""
    return _changed("version", old, new) if type_ == CHART else None


@dataclass
class StackChange:
    stack: str
    refused: tuple[bool, bool] = (False, False)
    replaced: dict[str, list[str]] = field(default_factory=dict)
    upgraded: dict[str, str] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    reordered: list[str] = field(default_factory=list)
    """Only what they wait for changes: Pulumi records it, and touches nothing in the cluster."""
    adopted: dict[str, str] = field(default_factory=dict)
    """Deleted charts whose objects another chart renders under the same names: they stay in the cluster."""


def _resources(plan: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {f"{r['type']}::{r['name']}": r for r in (plan or {}).get("resources") or []}


def compare(stack: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> StackChange:
    before, after = _resources(old), _resources(new)
    change = StackChange(stack, refused=(bool((old or {}).get("refused")), bool((new or {}).get("refused"))))
    change.deleted = sorted(set(before) - set(after))
    change.created = sorted(set(after) - set(before))
    prefixes = {r["inputs"].get("resourcePrefix"): key for key, r in after.items() if r["type"] == CHART}
    for key in change.deleted:
        prefix = before[key]["inputs"].get("resourcePrefix") if before[key]["type"] == CHART else None
        if prefix and prefix in prefixes:
            change.adopted[key] = prefixes[prefix]
    for key in sorted(set(before) & set(after)):
        if before[key] == after[key]:
            continue
        if _without_order(before[key]) == _without_order(after[key]):
            change.reordered.append(key)
            continue
        type_, old_inputs, new_inputs = after[key]["type"], before[key]["inputs"], after[key]["inputs"]
        if upgrade := chart_upgrade(type_, old_inputs, new_inputs):
            change.upgraded[key] = upgrade
        reasons = replacement_reasons(type_, old_inputs, new_inputs)
        if reasons:
            change.replaced[key] = reasons
        else:
            change.updated.append(key)
    return change


def _without_order(resource: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in ("dependsOn", "parent")}


def _deleted_note(key: str, resource: Mapping[str, Any]) -> str:
    if (resource.get("options") or {}).get("retainOnDelete"):
        return f"{key} (retainOnDelete: left in the cluster)"
    if resource["type"] in LOSES_DATA:
        return f"**{key}: deleting it deletes what it holds**"
    return key


def report(change: StackChange, old: Mapping[str, Any] | None) -> str:
    lines = [f"### {change.stack}"]
    if change.refused[1]:
        lines.append("**`pulumi up` refuses this stack now** (see `refused:` in its plan).")
    elif change.refused[0]:
        lines.append("No longer refused.")
    if change.replaced:
        lines.append("**Replaced** (deleted and created again):")
        lines += [f"- **{key}**: " + "; ".join(reasons) for key, reasons in change.replaced.items()]
    if change.upgraded:
        lines.append(
            "**Charts at a new version** (their objects are rendered anew at deploy time; "
            "`make preview` shows which are replaced):"
        )
        lines += [f"- **{key}**: {upgrade}" for key, upgrade in change.upgraded.items()]
    if change.deleted:
        before = _resources(old)
        lines.append("**Deleted:**")
        lines += [
            f"- {key} (its objects stay: {change.adopted[key]} renders them under the same names)"
            if key in change.adopted
            else f"- {_deleted_note(key, before[key])}"
            for key in change.deleted
        ]
    if change.created:
        lines.append("Created:")
        lines += [f"- {key}" for key in change.created]
    if change.updated:
        lines.append(f"Updated in place: {', '.join(change.updated)}")
    if change.reordered:
        lines.append(f"Only their order changes (nothing in the cluster): {len(change.reordered)} resources")
    if len(lines) == 1:
        lines.append("No change.")
    return "\n".join(lines)


def _git(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=False)


def _load(text: str | None) -> dict[str, Any] | None:
    return yaml.load(text, Loader=SAFE_LOADER) if text is not None else None


def _text_at(project: Path, ref: str, name: str) -> str | None:
    shown = _git(project, "show", f"{ref}:plans/{name}")
    return shown.stdout if shown.returncode == 0 else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="the Pulumi project's directory")
    parser.add_argument("--base", default="origin/main", help="the git revision to compare with")
    parser.add_argument("--diff-limit", type=int, help="cut the plan diff to this many characters")
    options = parser.parse_args(argv)
    directory = options.project.resolve()
    if _git(directory, "rev-parse", "--verify", "--quiet", options.base).returncode != 0:
        print(f"error: no git revision {options.base!r} here; pass --base (e.g. BASE=main)", file=sys.stderr)
        return 2
    listed = _git(directory, "ls-tree", "--name-only", options.base, "plans/").stdout.split()
    names = sorted({Path(p).name for p in listed} | {p.name for p in (directory / "plans").glob("*.yaml")})
    sections = []
    for name in names:
        path = directory / "plans" / name
        before, after = _text_at(directory, options.base, name), path.read_text() if path.exists() else None
        if before != after:
            old = _load(before)
            sections.append(report(compare(Path(name).stem, old, _load(after)), old))
    print(f"## What this change does, stack by stack (plans against {options.base})\n")
    print("\n\n".join(sections) if sections else "No change to any stack.")
    diff = _git(directory, "diff", "--no-ext-diff", options.base, "--", "plans/").stdout
    if options.diff_limit is not None and len(diff) > options.diff_limit:
        diff = diff[: options.diff_limit] + "\n... (cut here: `make plan-diff` shows it whole)\n"
    if diff:
        print("\n<details><summary>Plan diff</summary>\n\n```diff\n" + diff + "```\n</details>")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
