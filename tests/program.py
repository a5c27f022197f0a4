"""This repository's program under the package's recording engine: its stacks and the secrets they assume."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mesh_tracing.tooling import plan
from mesh_tracing.tooling.plan import stand_in_secrets
from mesh_tracing.tooling.recorder import Project, Res, Run

PROJECT_DIR = Path(__file__).resolve().parents[1]
PROJECT = Project(PROJECT_DIR)
STACKS = ("dev", "staging", "prod")
ASSUMED_SECRETS_FILE = PROJECT_DIR / "plans" / "assumed-secrets.yaml"
ASSUMED_SECRETS = stand_in_secrets(ASSUMED_SECRETS_FILE)


def run_program(
    stack: str | None = "dev",
    *,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    stack_name: str | None = None,
) -> Run:
    """Runs `__main__.py` for `stacks/Pulumi.<stack>.yaml` with dotted-path `overrides` and secret config
    (by default the secrets the stack assumes offline)."""
    if secrets is None:
        secrets = ASSUMED_SECRETS.get(stack or "", {})
    return PROJECT.run(stack, overrides=overrides, secrets=secrets, stack_name=stack_name)


def run_program_expecting_error(
    stack: str | None = "dev",
    *,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    stack_name: str | None = None,
) -> tuple[BaseException, list[Res]]:
    if secrets is None:
        secrets = ASSUMED_SECRETS.get(stack or "", {})
    return PROJECT.run_expecting_error(stack, overrides=overrides, secrets=secrets, stack_name=stack_name)


def plan_path(stack: str) -> Path:
    return plan.plan_path(PROJECT, stack)


def plan_document(stack: str, run: Run | None = None) -> dict[str, Any]:
    return plan.plan_document(stack, run or run_program(stack))


def render(stack: str, run: Run | None = None) -> str:
    """The plan of `stack` as `make render` writes it."""
    return plan.render(PROJECT, stack, run or run_program(stack))
