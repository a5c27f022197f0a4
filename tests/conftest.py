import functools
from collections.abc import Callable

import pytest

from tests.harness import STACKS, Run, run_program

TEST_SECRETS: dict[str, dict[str, str]] = {}
"""Secrets a stack needs that are set with `pulumi config set --secret`, so are not in its file."""


@functools.cache
def render(stack: str) -> Run:
    """A shipped stack, rendered once per session; tests only read the result."""
    return run_program(stack, secrets=TEST_SECRETS.get(stack))


@pytest.fixture(params=STACKS)
def stack_run(request: pytest.FixtureRequest) -> tuple[str, Run]:
    return request.param, render(request.param)


@pytest.fixture
def rendered() -> Callable[[str], Run]:
    return render
