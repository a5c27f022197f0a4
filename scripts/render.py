"""Renders a plan per stack: every resource the real program declares, under Pulumi's mock engine, with no
CLI, cluster or credentials. The plans are committed, so a pull request's diff shows, environment by
environment, what the change does.

    python -m scripts.render            # all stacks
    python -m scripts.render prod       # one stack
"""

import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.harness import PROJECT_DIR, STACKS, Res, Run, Secret, run_program

PLANS_DIR = PROJECT_DIR / "plans"
REDACTED = "[secret: redacted]"
REFRESH_COMMAND = "make render"
HEADER = (
    "# Rendered by `{command}` from stacks/Pulumi.{stack}.yaml under Pulumi's mock engine. Do not edit:\n"
    "# this file shows what `pulumi up` declares for the stack. Secrets are redacted.\n"
)


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
    if options:
        entry["options"] = options
    entry["inputs"] = _clean(resource.inputs)
    return entry


def plan_document(stack: str, run: Run | None = None) -> dict[str, Any]:
    """The plan of `stack`: resources sorted by type and name, with references by `type::name`."""
    run = run or run_program(stack)
    by_urn = {r.urn: r for r in run.resources}
    resources = [_entry(r, by_urn) for r in sorted(run.resources, key=_key)]
    return {"stack": stack, "outputs": _clean(run.outputs), "resources": resources}


def render(stack: str, run: Run | None = None) -> str:
    body = yaml.safe_dump(plan_document(stack, run), sort_keys=False, width=110, allow_unicode=True)
    return HEADER.format(command=REFRESH_COMMAND, stack=stack) + body


def plan_path(stack: str) -> Path:
    return PLANS_DIR / f"{stack}.yaml"


def main(stacks: list[str]) -> int:
    PLANS_DIR.mkdir(exist_ok=True)
    started = time.perf_counter()
    for stack in stacks or list(STACKS):
        plan_path(stack).write_text(render(stack))
        print(f"wrote {plan_path(stack).relative_to(PROJECT_DIR)}")
    print(f"rendered in {time.perf_counter() - started:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
