"""Reads the stack's configuration once, applies the environment preset and validates everything.

All problems are collected and raised together as one `SettingsError`, before any resource is declared.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

import pulumi
import pulumi.runtime
from pydantic import BaseModel, ValidationError

from components.helm import deep_merge
from components.options import Environment
from settings.model import MeshSettings, SettingsModel
from settings.presets import PRESETS
from settings.problems import MISSING, UNKNOWN_KEY, Problem, SettingsError
from settings.rules import RULES
from settings.secrets import SECRETS, set_command

SECTIONS = tuple(key for key in MeshSettings.model_fields if key != "environment")
"""Structured (map) config keys, one per concern: the section fields of `MeshSettings`."""


@dataclass(frozen=True)
class RawConfig:
    """The project's config keys (without the `<project>:` prefix) as the engine passed them."""

    values: Mapping[str, str]
    secret_keys: frozenset[str]


@dataclass(frozen=True)
class StackSettings:
    stack: str
    mesh: MeshSettings
    secrets: Mapping[str, pulumi.Output[str]]
    """Secret config values by key, each a secret Output (never a plain string)."""


def load_settings() -> StackSettings:
    """Parses the running stack's configuration. Raises `SettingsError` listing every problem."""
    project = pulumi.get_project()
    return parse_settings(pulumi.get_stack(), read_project_config(project))


def read_project_config(project: str) -> RawConfig:
    """All `<project>:*` config keys. The engine passes config in the environment for real runs and
    through `set_all_config` under test mocks; both are read so unknown keys can be reported."""
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = set(runtime_config.get_config_secret_keys_env()) | {
        key for key in merged if runtime_config.is_config_secret(key)
    }
    prefix = f"{project}:"
    return RawConfig(
        values={k.removeprefix(prefix): str(v) for k, v in merged.items() if k.startswith(prefix)},
        secret_keys=frozenset(k.removeprefix(prefix) for k in secret if k.startswith(prefix)),
    )


def parse_settings(stack: str, raw: RawConfig) -> StackSettings:
    problems: list[Problem] = []
    environment = _environment(stack, raw.values.get("environment"), problems)
    sections = _sections(raw.values, problems)
    problems += _unknown_keys(raw.values)
    secrets = _secrets(raw, problems)

    # With no usable environment, check the rest against the dev preset so every other problem shows too.
    document = _apply_preset(PRESETS[environment or Environment.DEV], sections)
    valid: dict[str, Any] = {}
    unparsable = {p.path for p in problems}
    for key in (k for k in SECTIONS if k not in unparsable):
        # Each section is validated on its own so that the rules can still check the valid ones.
        model: type[SettingsModel] = MeshSettings.model_fields[key].annotation  # type: ignore[assignment]
        try:
            valid[key] = model.model_validate_json(json.dumps(document.get(key, {})))
        except ValidationError as error:
            problems += [_from_pydantic(e, key, model) for e in error.errors()]
    mesh = MeshSettings.model_construct(environment=environment or Environment.DEV, **valid)
    # A secret given in plain text is reported as such above, not once more as missing.
    offered = set(secrets) | {key for key in SECRETS if key in raw.values}
    for rule in RULES:
        if set(rule.needs) <= set(valid):
            problems += rule.check(mesh, offered)
    if problems:
        raise SettingsError(stack, problems)
    return StackSettings(
        stack=stack, mesh=mesh, secrets={k: pulumi.Output.secret(v) for k, v in secrets.items()}
    )


CHOICES = (("jaeger", "storage"),)
"""Maps that describe one choice: the stack file's replaces the preset's instead of merging into it, so
picking another storage kind does not inherit the preset kind's settings block."""


def _apply_preset(preset: Mapping[str, Any], sections: Mapping[str, Any]) -> dict[str, Any]:
    document = deep_merge(preset, sections)
    for section, key in CHOICES:
        chosen = sections.get(section, {}).get(key)
        if isinstance(chosen, dict) and "kind" in chosen:
            document[section][key] = chosen
    return document


def _environment(stack: str, value: str | None, problems: list[Problem]) -> Environment | None:
    allowed = ", ".join(e.value for e in Environment)
    if value is not None:
        if value in Environment.__members__.values():
            return Environment(value)
        problems.append(Problem("environment", value, f"one of {allowed}"))
        return None
    if stack in Environment.__members__.values():
        return Environment(stack)
    problems.append(
        Problem(
            "environment", MISSING, f"one of {allowed}; required because the stack name is not one of them"
        )
    )
    return None


def _sections(values: Mapping[str, str], problems: list[Problem]) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    for key in SECTIONS:
        if key not in values:
            continue
        try:
            parsed = json.loads(values[key])
        except json.JSONDecodeError:
            parsed = values[key]
        if isinstance(parsed, dict):
            sections[key] = parsed
        else:
            problems.append(Problem(key, parsed, "a map of settings (see README, 'Configuration')"))
    return sections


def _unknown_keys(values: Mapping[str, str]) -> list[Problem]:
    known = {"environment", *SECTIONS, *SECRETS}
    allowed = "one of " + ", ".join(sorted(known))
    return [Problem(key, UNKNOWN_KEY, allowed) for key in sorted(values) if key not in known]


def _secrets(raw: RawConfig, problems: list[Problem]) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for key in SECRETS:
        if key not in raw.values:
            continue
        if key in raw.secret_keys:
            secrets[key] = raw.values[key]
        else:
            problems.append(Problem(key, "(plain text, value not shown)", f"a secret: {set_command(key)}"))
    return secrets


def _from_pydantic(error: Mapping[str, Any], section: str, model: type[BaseModel]) -> Problem:
    location = tuple(error["loc"])
    path = ".".join(str(part) for part in (section, *location))
    if error["type"] == "missing":
        return Problem(path, MISSING, "a value is required here (this environment has no default)")
    if error["type"] == "extra_forbidden":
        keys = ", ".join(_keys_at(model, location[:-1]))
        return Problem(path, UNKNOWN_KEY, f"one of {keys}")
    return Problem(path, error.get("input"), _allowed_text(error))


def _allowed_text(error: Mapping[str, Any]) -> str:
    message: str = error["msg"]
    pattern = (error.get("ctx") or {}).get("pattern")
    if pattern:
        return f"a string matching {pattern}"
    return message.removeprefix("Input should be ").removeprefix("Value error, ")


def _keys_at(model: type[BaseModel], location: tuple[Any, ...]) -> list[str]:
    """The camelCase keys allowed at `location` inside `model`."""
    for part in location:
        field = next(f for name, f in model.model_fields.items() if (f.alias or name) == part)
        candidates = [field.annotation, *get_args(field.annotation)]
        model = next(c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel))
    return [f.alias or name for name, f in model.model_fields.items()]
