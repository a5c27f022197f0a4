"""The README's examples of refused input are what the code prints."""

import re

import pytest

from mesh_tracing import MeshTracingArgs
from mesh_tracing.spec import SpecError
from mesh_tracing.tooling.recorder import REMOVE
from tests.program import PROJECT_DIR, run_program_expecting_error

README = (PROJECT_DIR / "README.md").read_text()


def block_starting(first_line: str) -> str:
    found = re.search(rf"```\n({re.escape(first_line)}.*?)```", README, re.DOTALL)
    assert found, f"no README block starting with {first_line!r}"
    return found.group(1)


def test_the_invalid_settings_example_is_what_make_render_prints() -> None:
    error, _ = run_program_expecting_error(
        "prod",
        overrides={
            "tracing.samplingPercentage": 0.005,
            "gateway.exposur": "public",
            "jaegerStoragePassword": REMOVE,
        },
    )
    shown = f"error: {error}\n"  # as `make render` prints a refused stack
    assert block_starting("error: Invalid configuration for stack 'prod'") == shown


def test_the_library_example_is_what_the_spec_raises() -> None:
    with pytest.raises(SpecError) as raised:
        MeshTracingArgs(sampling_percentage=150)
    assert block_starting("Invalid MeshTracingArgs") == f"{raised.value}\n"
