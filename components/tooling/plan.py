"""Renders a plan per stack: every resource a Pulumi Python program declares, under Pulumi's mock engine,
with no CLI, cluster or credentials. Committed next to the code, the plans make a pull request's diff show,
environment by environment, what the change does.

    python -m mesh_tracing.tooling.plan [--project DIR] [--out DIR] [STACK ...]

Every stack file is rendered unless stacks are named. Secrets come from the stack files as they are: a
`secure:` value counts as set and shows redacted. A stack that `pulumi up` would refuse (invalid settings,
a missing secret, a secret in plain text, a stack file that is not YAML) gets a plan that says so, its
problems are printed as `pulumi up` prints them, and the command exits 1.
"""

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import pulumi
import yaml

from mesh_tracing.tooling.recorder import Project, Res, Run, Secret, StackFileError

REDACTED = "[secret: redacted]"
REFRESH_COMMAND = "make render"
HEADER = (
    "# Rendered by `{command}` from {stack_file} under Pulumi's mock engine. Do not edit:\n"
    "# this file shows what `pulumi up` declares for the stack. Secrets are redacted.\n"
)
RESOURCE_HEADING = "# {key}\n"
"""Starts each resource, so that a diff hunk names the resource it is in (see .gitattributes)."""


def _key(resource: Res) -> str:
    return f"{resource.type}::{resource.name}"


def _clean(value: Any) -> Any:
    """Plain, stable values: secrets redacted, whole numbers as integers (the engine sends doubles)."""
    if isinstance(value, Secret):
        return _redact(value.value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _clean(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _redact(value: Any) -> Any:
    """Secret values hidden, their shape (the keys of a secret map) kept for the reader."""
    if isinstance(value, dict):
        return {k: _redact(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return REDACTED


def _entry(resource: Res, by_urn: dict[str, Res]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": resource.type, "name": resource.name}
    if resource.parent in by_urn:
        entry["parent"] = _key(by_urn[resource.parent])
    dependencies = sorted({_key(by_urn[urn]) for urn in resource.dependencies if urn in by_urn})
    if dependencies:
        entry["dependsOn"] = dependencies
    options: dict[str, Any] = {
        name: True
        for name, enabled in (
            ("protect", resource.protect),
            ("retainOnDelete", resource.retain_on_delete),
            ("read", resource.read),
        )
        if enabled
    }
    if resource.transforms:
        options["transforms"] = sorted(transform.__name__ for transform in resource.transforms)
    # Aliases that only name an older API version come with every Kubernetes resource; the ones that
    # name a former parent or name are the program's, and say what it adopts from older state.
    aliases = [alias for alias in resource.aliases if set(alias) != {"type"}]
    if aliases:
        options["aliases"] = aliases
    if options:
        entry["options"] = options
    entry["inputs"] = _clean(resource.inputs)
    return entry


def plan_document(stack: str, run: Run) -> dict[str, Any]:
    """The plan of `stack`: resources sorted by type and name, with references by `type::name`."""
    by_urn = {r.urn: r for r in run.resources}
    resources = [_entry(r, by_urn) for r in sorted(run.resources, key=_key)]
    return {"stack": stack, "outputs": _clean(run.outputs), "resources": resources}


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, width=110, allow_unicode=True)


def _header(project: Project, stack: str) -> str:
    stack_file = project.stack_file(stack).relative_to(project.directory)
    return HEADER.format(command=REFRESH_COMMAND, stack_file=stack_file)


def render(project: Project, stack: str, run: Run) -> str:
    document = plan_document(stack, run)
    resources = "".join(
        RESOURCE_HEADING.format(key=f"{entry['type']}::{entry['name']}") + _dump([entry])
        for entry in document.pop("resources")
    )
    return _header(project, stack) + _dump(document) + "resources:\n" + resources


def render_refused(project: Project, stack: str, reason: str) -> str:
    """The plan of a stack that `pulumi up` refuses: why, and no resource."""
    return _header(project, stack) + _dump({"stack": stack, "refused": reason.splitlines()})


def plan_path(project: Project, stack: str, out: Path | None = None) -> Path:
    """Where the plan of `stack` is written: `plans/<stack>.yaml` in the project, or in `out`."""
    return (out or project.directory / "plans") / f"{stack}.yaml"


def render_stack(project: Project, stack: str) -> tuple[str, str | None]:
    """The plan text of `stack`, and why `pulumi up` would refuse the stack (None if it would not)."""
    try:
        return render(project, stack, project.run(stack)), None
    except (pulumi.RunError, StackFileError) as refused:
        # What `pulumi up` prints for a RunError: its message, no traceback.
        return render_refused(project, stack, str(refused)), str(refused)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="the Pulumi project's directory")
    parser.add_argument("--out", type=Path, help="where to write the plans (default: the project's plans/)")
    parser.add_argument("stacks", nargs="*", help="stacks to render (default: every stack file)")
    options = parser.parse_args(argv)
    project = Project(options.project.resolve())
    started = time.perf_counter()
    refused: list[str] = []
    try:
        stacks = options.stacks or project.stacks()
        for stack in stacks:
            project.require_stack_file(stack)
            text, problem = render_stack(project, stack)
            path = plan_path(project, stack, options.out)
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}" + (" (refused)" if problem else ""))
            if problem:
                print(f"error: {problem}", file=sys.stderr)
                refused.append(stack)
        if not options.stacks and options.out is None:
            _remove_orphans(project, set(stacks))
    except StackFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"rendered in {time.perf_counter() - started:.2f}s")
    if refused:
        print(f"error: `pulumi up` would refuse: {', '.join(refused)} (see above)", file=sys.stderr)
        return 1
    return 0


def _remove_orphans(project: Project, stacks: set[str]) -> None:
    """A plan whose stack file is gone would show a stack that no longer exists."""
    for path in plan_path(project, "*").parent.glob("*.yaml"):
        if path.stem not in stacks:
            path.unlink()
            print(f"removed {path} (no stack file)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
