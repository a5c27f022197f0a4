"""Reads the stack's configuration once, applies the environment preset and validates everything.

The sections of a stack's config are the parts of `TracedMeshArgs`, each one component's own spec, so there
is nothing to translate. All problems are raised together as one `SettingsError`, before any resource is
declared, each naming the stack, the key path (camelCase, as in the stack file), the value and what is
allowed.
"""

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.runtime
from pydantic.alias_generators import to_camel

from mesh_tracing.helm import deep_merge
from mesh_tracing.settings.environments import PRESETS, RULES, Environment
from mesh_tracing.spec import MISSING, PLAIN_TEXT, UNKNOWN_KEY, FieldPath, Key, Problem
from mesh_tracing.traced_mesh import TracedMeshArgs

ENVIRONMENT = "environment"
SECTIONS = tuple(name for name in TracedMeshArgs.model_fields if name != ENVIRONMENT)
"""Structured (map) config keys: the parts of `TracedMeshArgs`."""
SECRETS: dict[str, FieldPath] = {
    "istioChartRepositoryPassword": ("istio", "chart_repository_password"),
    "jaegerStoragePassword": ("jaeger", "storage_password"),
    "tracingBackendToken": ("tracing", "backend", "token"),
    "grafanaAdminPassword": ("grafana", "admin_password"),
    "prometheusRemoteWriteCredential": ("prometheus", "remote_write", "credential"),
    "kialiOpenidClientSecret": ("kiali", "openid_client_secret"),
}
"""Secret config keys, and the spec field each one fills. Each is a top-level key so that Pulumi encrypts it
on its own and the program can check that it really was set with `pulumi config set --secret`."""
PLACEHOLDER = "(secret)"
"""What a secret is validated as; its value is put in only after validation, as a secret Output."""
CHOICES = (("jaeger", "storage"),)
"""Maps that describe one choice: the stack file's replaces the preset's instead of merging into it, so
picking another storage kind does not inherit the preset kind's settings block."""


def set_command(key: str, stack: str) -> str:
    return f"pulumi config set --secret {key} <value> --stack {stack}"


class SettingsError(pulumi.RunError):
    """Invalid stack configuration. Raised before any resource is registered."""

    def __init__(self, stack: str, problems: list[Problem]) -> None:
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - [stack {stack}] {p.describe(camel=True)}" for p in problems)
        super().__init__(
            f"Invalid configuration for stack '{stack}' ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}); nothing was deployed:\n{lines}"
        )

    @property
    def paths(self) -> list[str]:
        """The key path of each problem, as in the stack file."""
        return [problem.where(camel=True) for problem in self.problems]


@dataclass(frozen=True)
class RawConfig:
    """The project's config keys (without the `<project>:` prefix) as the engine passed them."""

    values: Mapping[str, str]
    secret_keys: frozenset[str]


@dataclass(frozen=True)
class StackSettings:
    stack: str
    environment: Environment
    mesh: TracedMeshArgs
    """The whole mesh's spec, secrets in it as secret Outputs."""


def load_settings() -> StackSettings:
    """Parses the running stack's configuration. Raises `SettingsError` listing every problem."""
    return parse_settings(pulumi.get_stack(), read_project_config(pulumi.get_project()))


def read_project_config(project: str) -> RawConfig:
    """All `<project>:*` config keys. The engine passes config in the environment for real runs and
    through `set_all_config` under mocks; both are read so unknown keys can be reported."""
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
    environment = _environment(stack, raw.values.get(ENVIRONMENT), problems)
    sections = _sections(raw.values, problems)
    unparsable = {p.path[0] for p in problems if p.path}
    problems += _unknown_keys(raw.values)
    secrets = _secrets(stack, raw, problems)
    problems += _secrets_in_sections(stack, sections)

    # With no usable environment, check the rest against the dev preset so every other problem shows too.
    env = environment or Environment.DEV
    document = _apply_preset(PRESETS[env], sections)
    for key in secrets:
        _put(document, SECRETS[key], PLACEHOLDER)
    document = {k: v for k, v in document.items() if k not in unparsable} | {ENVIRONMENT: env.value}
    mesh, found = TracedMeshArgs.check(json.dumps(document), numbers_as_text=True)
    offered = set(secrets) | {key for key in SECRETS if key in raw.values}
    # A section that is not a map is reported once, above; not again as missing.
    found = [
        q
        for p in found
        if not (p.path and p.path[0] in unparsable) and (q := _stack_problem(stack, p, offered))
    ]
    if mesh is not None and not unparsable:
        # An environment's rule says more than a part's rule about the same field.
        environment_problems = [p for rule in RULES[env] for p in rule(mesh)]
        reported = {p.path for p in environment_problems}
        found = [p for p in found if p.path not in reported] + environment_problems
    problems += found
    if problems or mesh is None:
        raise SettingsError(stack, problems)
    return StackSettings(stack=stack, environment=env, mesh=_with_secrets(mesh, secrets))


def _apply_preset(preset: Mapping[str, Any], sections: Mapping[str, Any]) -> dict[str, Any]:
    # A copy: the document is filled in below (secrets' placeholders), and the preset serves every stack.
    document = deep_merge(copy.deepcopy(preset), sections)
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
        problems.append(Problem(("environment",), value, f"one of {allowed}"))
        return None
    if stack in Environment.__members__.values():
        return Environment(stack)
    problems.append(
        Problem(
            ("environment",),
            MISSING,
            f"one of {allowed}; required because the stack name is not one of them: "
            f"pulumi config set environment <{'|'.join(e.value for e in Environment)}> --stack {stack}",
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
            problems.append(Problem((key,), parsed, "a map of settings (see README, 'Configuration')"))
    return sections


def _unknown_keys(values: Mapping[str, str]) -> list[Problem]:
    known = sorted({ENVIRONMENT, *SECTIONS, *SECRETS})
    return [
        Problem((Key(key),), UNKNOWN_KEY, "one of", keys=tuple(known))
        for key in sorted(values)
        if key not in known
    ]


def _secrets(stack: str, raw: RawConfig, problems: list[Problem]) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for key in SECRETS:
        if key not in raw.values:
            continue
        if key in raw.secret_keys:
            secrets[key] = raw.values[key]
        else:
            problems.append(Problem((Key(key),), PLAIN_TEXT, f"a secret: {set_command(key, stack)}"))
    return secrets


def _secrets_in_sections(stack: str, sections: Mapping[str, Any]) -> list[Problem]:
    """A secret written into the structured config would be stored in plain text in the stack file."""
    problems = []
    for key, path in SECRETS.items():
        node: Any = sections
        for part in path[:-1]:
            node = node.get(to_camel(str(part)), {}) if isinstance(node, Mapping) else {}
        field = str(path[-1])
        if isinstance(node, Mapping) and any(name in node for name in (field, to_camel(field))):
            problems.append(Problem(path, PLAIN_TEXT, f"a secret, as its own key: {set_command(key, stack)}"))
    return problems


def _stack_problem(stack: str, problem: Problem, offered: set[str]) -> Problem | None:
    """A missing secret field is the missing secret key, with the command that sets it; a secret offered in
    plain text is already reported as such."""
    for key, path in SECRETS.items():
        if problem.path == path and problem.value is MISSING:
            if key in offered:
                return None
            return Problem(
                (Key(key),), MISSING, f"a secret, {problem.allowed}: {set_command(key, stack)}", problem.refs
            )
    return problem


def _put(document: dict[str, Any], path: FieldPath, value: Any) -> None:
    node = document
    for part in path[:-1]:
        node = node.setdefault(to_camel(str(part)), {})
    node[to_camel(str(path[-1]))] = value


def _with_secrets(mesh: TracedMeshArgs, secrets: Mapping[str, str]) -> TracedMeshArgs:
    """The spec with each secret's value in place of its placeholder, as a secret Output."""
    for key, value in secrets.items():
        mesh = _replace(mesh, SECRETS[key], pulumi.Output.secret(value))
    return mesh


def _replace(spec: Any, path: FieldPath, value: Any) -> Any:
    head, *rest = path
    new = _replace(getattr(spec, str(head)), tuple(rest), value) if rest else value
    return spec.model_copy(update={str(head): new})
