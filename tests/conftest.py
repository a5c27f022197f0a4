import functools
from collections.abc import Callable

import pytest

from mesh_tracing.tooling.recorder import Run
from tests.program import STACKS, run_program


@functools.cache
def render(stack: str) -> Run:
    """A shipped stack, rendered once per session; tests only read the result."""
    return run_program(stack)


@pytest.fixture(params=STACKS)
def stack_run(request: pytest.FixtureRequest) -> tuple[str, Run]:
    return request.param, render(request.param)


@pytest.fixture
def rendered() -> Callable[[str], Run]:
    return render
