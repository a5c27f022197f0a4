"""The bad-input corpus (tests/bad_inputs/*.yaml): each invalid stack config is refused before anything is
registered, with one error that names the stack, the key path, the value found and what is allowed."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from mesh_tracing.settings import SettingsError
from mesh_tracing.tooling.recorder import REMOVE
from tests.program import run_program_expecting_error

CORPUS = sorted((Path(__file__).parent / "bad_inputs").glob("*.yaml"))
REMOVE_MARK = "__remove__"
"""Corpus value that deletes a key the stack file or preset has."""


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text())
    case["overrides"] = {k: REMOVE if v == REMOVE_MARK else v for k, v in case.get("overrides", {}).items()}
    return case


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_bad_input_is_refused_with_one_precise_error(path: Path) -> None:
    case = load(path)
    error, registered = run_program_expecting_error(
        case["stack"], overrides=case["overrides"], secrets=case.get("secrets")
    )
    assert isinstance(error, SettingsError), f"{path.name}: expected a SettingsError, got {error!r}"
    assert registered == [], f"{path.name}: registered {[r.name for r in registered]}"
    expect = case["expect"]
    assert error.paths == [expect["path"]], f"{path.name}:\n{error}"
    (line,) = [line for line in str(error).splitlines() if line.startswith("  - ")]
    assert line.startswith(
        f"  - [stack {case['stack']}] {expect['path']}: got {expect['value']}; allowed: "
    ), line
    assert expect["allowed"] in line, line


def test_the_corpus_covers_every_kind_of_mistake() -> None:
    kinds = {path.stem.split("-", 1)[0] for path in CORPUS}
    assert kinds == {"enum", "bound", "secret", "conflict", "typo", "type"}
    assert len(CORPUS) >= 25


def test_a_secret_in_the_corpus_is_never_echoed() -> None:
    for path in CORPUS:
        case = load(path)
        plain = {k: v for k, v in case["overrides"].items() if k.endswith(("Password", "Token"))}
        if plain:
            error, _ = run_program_expecting_error(
                case["stack"], overrides=case["overrides"], secrets=case.get("secrets")
            )
            for value in plain.values():
                assert str(value) not in str(error), path.name
