"""This repository's program under the package's recording engine, and its stacks: every stack file."""

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mesh_tracing.tooling import plan
from mesh_tracing.tooling.recorder import SAFE_LOADER, Project, Res, Run

PROJECT_DIR = Path(__file__).resolve().parents[1]
PROJECT = Project(PROJECT_DIR)
STACKS = tuple(PROJECT.stacks())
"""Every `stacks/Pulumi.<name>.yaml`: a stack added there is rendered and tested with no other edit."""


def run_program(
    stack: str | None = "dev",
    *,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    stack_name: str | None = None,
) -> Run:
    """Runs `__main__.py` for `stacks/Pulumi.<stack>.yaml` (its `secure:` values included) with dotted-path
    `overrides` and extra secret config."""
    return PROJECT.run(stack, overrides=overrides, secrets=secrets, stack_name=stack_name)


def run_program_expecting_error(
    stack: str | None = "dev",
    *,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    stack_name: str | None = None,
) -> tuple[BaseException, list[Res]]:
    return PROJECT.run_expecting_error(stack, overrides=overrides, secrets=secrets, stack_name=stack_name)


def plan_path(stack: str) -> Path:
    return plan.plan_path(PROJECT, stack)


def plan_document(stack: str, run: Run | None = None) -> dict[str, Any]:
    return plan.plan_document(stack, run or run_program(stack))


def render(stack: str, run: Run | None = None) -> str:
    """The plan of `stack` as `make render` writes it."""
    return plan.render(PROJECT, stack, run or run_program(stack))


def copy_project(destination: Path) -> Path:
    """A copy of this project without its venv or caches, e.g. to add a stack file to."""
    shutil.copytree(
        PROJECT_DIR,
        destination,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "venv", ".pulumi-state", "build", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    return destination


def make(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make` in `project` with this suite's venv standing in for the project's own (-o: not rebuilt)."""
    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        ["make", "--no-print-directory", "-o", f"{bin_dir}/.installed", *args, f"BIN={bin_dir}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def committed_plan(stack: str) -> dict[str, Any]:
    """`plans/<stack>.yaml` as committed, parsed afresh (callers may change it)."""
    plan: dict[str, Any] = yaml.load(plan_path(stack).read_text(), Loader=SAFE_LOADER)
    return plan


UIS_OFF_THE_GATEWAY = {
    "gateway.jaegerUi.access": "none",
    "grafana.ui.access": "none",
    "kiali.ui.access": "none",
}
"""Overrides that take dev's UIs off the gateway (port-forward instead): a gateway without TLS serves none."""
