"""A recording mock engine: runs a Pulumi Python program (or one component) under Pulumi's mocks, with no
CLI, cluster or credentials, and returns every registered resource with its inputs, parent, dependencies and
options, plus the stack outputs.

`make render` uses it to write the plans; tests use it to assert on what is declared. It works for any
Pulumi Python project: `Project(path).run(stack)`.
"""

import json
import runpy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

LIVE_CLUSTER_IP = "10.96.0.42"
"""The cluster IP the mocks give every Service read from the cluster."""
REMOVE = object()
"""Override value that deletes a key from the stack file's config."""


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret. Tests assert secrecy by checking for this wrapper."""

    value: Any

    def __repr__(self) -> str:
        return "Secret([redacted])"


@dataclass
class Res:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    custom: bool
    remote: bool
    protect: bool
    retain_on_delete: bool
    read: bool = False
    transforms: list[Any] = field(default_factory=list)
    aliases: list[dict[str, Any]] = field(default_factory=list)
    """Former identities (`noParent`, `parentUrn`, `name`, `type`): what the resource adopts from an older
    state."""

    def at(self, *path: str | int) -> Any:
        """The input at `path`, failing with the resource's name if any step is absent."""
        value: Any = self.inputs
        for step in path:
            if isinstance(value, Secret):
                value = value.value
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError) as missing:
                raise AssertionError(f"{self.type} {self.name}: no input at {path!r}") from missing
        return value


def revealed(value: Any) -> str:
    """Text of `value` with secrets shown: to find where a secret went, not to print."""
    return json.dumps(value, default=lambda v: v.value if isinstance(v, Secret) else repr(v), sort_keys=True)


class UnresolvedOutputError(AssertionError):
    pass


@dataclass
class Run:
    resources: list[Res]
    outputs: dict[str, Any]

    def of_type(self, type_: str) -> list[Res]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Res:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Res:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Res:
        return next(r for r in self.resources if r.urn == urn)

    def output(self, name: str) -> Any:
        assert name in self.outputs, f"stack output {name} was not exported; outputs: {sorted(self.outputs)}"
        value = self.outputs[name]
        if isinstance(value, UnresolvedOutputError):
            raise value
        return value

    def descendants(self, res: Res) -> list[Res]:
        children = [r for r in self.resources if r.parent == res.urn]
        return children + [d for c in children for d in self.descendants(c)]

    def waits_for(self, dependent: Res, prerequisite: Res) -> bool:
        """Whether the engine creates `prerequisite` before `dependent`."""
        children: dict[str, list[str]] = {}
        for r in self.resources:
            children.setdefault(r.parent, []).append(r.urn)
        return waits_for(
            dependent.urn,
            prerequisite.urn,
            lambda urn: self.by_urn(urn).dependencies,
            lambda urn: children.get(urn, []),
        )


def waits_for(
    dependent: str,
    prerequisite: str,
    dependencies: Callable[[str], Iterable[str]],
    children: Callable[[str], Iterable[str]],
) -> bool:
    """Whether `dependent` is created after `prerequisite`: a path of dependencies, where depending on a
    component means depending on everything inside it."""
    seen: set[str] = set()
    frontier = list(dependencies(dependent))
    while frontier:
        node = frontier.pop()
        if node in seen:
            continue
        seen.add(node)
        if node == prerequisite:
            return True
        frontier += [*dependencies(node), *children(node)]
    return False


def _unwrap(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return Secret(_unwrap(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _alias(alias: Any) -> dict[str, Any]:
    if alias.HasField("urn"):
        return {"urn": alias.urn}
    spec = alias.spec
    fields = (
        ("name", spec.name),
        ("type", spec.type),
        ("parentUrn", spec.parentUrn),
        ("noParent", spec.noParent),
    )
    return {key: value for key, value in fields if value}


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.resource_id and "metadata" not in state:
            # A read (`.get`) of an existing object: answer with what the cluster would hold.
            namespace, _, name = args.resource_id.rpartition("/")
            state["metadata"] = {"name": name, **({"namespace": namespace} if namespace else {})}
            if args.typ == "kubernetes:core/v1:Service":
                state["spec"] = {"clusterIP": LIVE_CLUSTER_IP}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self) -> None:
        super().__init__(_Mocks())
        self.recorded: list[Res] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recorded.append(
                Res(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    inputs=_unwrap(rpc.deserialize_properties(request.object)),
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    custom=request.custom,
                    remote=request.remote,
                    protect=request.protect,
                    retain_on_delete=request.retainOnDelete,
                    transforms=pulumi_mocks._resolve_callbacks(request.transforms),
                    aliases=[_alias(alias) for alias in request.aliases],
                )
            )
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().ReadResource(request)
        self.recorded.append(
            Res(
                urn=response.urn,
                type=request.type,
                name=request.name,
                inputs={"id": request.id},
                parent=request.parent,
                dependencies=list(request.dependencies),
                custom=True,
                remote=False,
                protect=False,
                retain_on_delete=False,
                read=True,
            )
        )
        return response


def _apply(config: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    if value is REMOVE:
        node.pop(leaf, None)
    else:
        node[leaf] = value


def _execute(
    program: Callable[[], object],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: Iterable[str],
) -> tuple[_RecordingMonitor, dict[str, Any], BaseException | None]:
    monitor = _RecordingMonitor()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(_Mocks(), project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    outputs: dict[str, Any] = {}

    async def run() -> None:
        program()
        root = pulumi.runtime.get_root_resource()
        for name, value in getattr(root, "outputs", {}).items():
            output = pulumi.Output.from_input(value)
            resolved = await output.future(with_unknowns=True)
            if not await output.is_known():
                outputs[name] = UnresolvedOutputError(f"stack output {name} never resolved")
            elif await output.is_secret():
                outputs[name] = Secret(resolved)
            else:
                outputs[name] = resolved

    error: BaseException | None = None
    try:
        _sync_await(run_pulumi_func(run))
    except Exception as raised:
        error = raised
    return monitor, outputs, error


def record(program: Callable[[], object], *, project: str = "test", stack: str = "test") -> Run:
    """Runs `program` (e.g. one component with hand-written args) under the recording mocks."""
    monitor, outputs, error = _execute(program, project=project, stack=stack, config={}, secret_keys=[])
    if error is not None:
        raise error
    return Run(monitor.recorded, outputs)


def record_expecting_error(
    program: Callable[[], object], *, project: str = "test", stack: str = "test"
) -> tuple[BaseException, list[Res]]:
    """Like `record`, for a program that must fail: returns the error and whatever was registered."""
    monitor, _, error = _execute(program, project=project, stack=stack, config={}, secret_keys=[])
    assert error is not None, "the program was expected to fail but succeeded"
    return error, monitor.recorded


class StackFileError(Exception):
    """A stack or project file that cannot be read: missing, or not YAML. The message names the file."""


@dataclass(frozen=True)
class Secure:
    """A `secure:` value of a stack file: what `pulumi config set --secret` writes. Offline it stays
    encrypted: the program gets the ciphertext, marked secret, as an opaque value it never shows."""

    ciphertext: str


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it: many times faster on stack files and plans."""


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.load(path.read_text(), Loader=SAFE_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise StackFileError(f"{where}: {what} is not valid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: {what} is not valid YAML: {error}") from None


def _secure(value: Any) -> Any:
    """The stack file's value with each `{secure: ...}` as a `Secure`."""
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            return Secure(value["secure"])
        return {k: _secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_secure(v) for v in value]
    return value


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return isinstance(value, Secure)


def _engine_value(value: Any) -> str:
    """A config value as the engine hands it to a program: maps and lists as JSON, scalars as strings, and
    a secure value as its (still encrypted) text."""

    def plain(v: Any) -> Any:
        if isinstance(v, Secure):
            return v.ciphertext
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    value = plain(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


@dataclass(frozen=True)
class Project:
    """A Pulumi Python project on disk: its `Pulumi.yaml`, stack files and `__main__.py`."""

    directory: Path

    @property
    def name(self) -> str:
        return str(self._definition()["name"])

    @property
    def stacks_dir(self) -> Path:
        return self.directory / str(self._definition().get("stackConfigDir", "."))

    def _definition(self) -> dict[str, Any]:
        definition = _read_yaml(self.directory / "Pulumi.yaml", "the project file")
        if not isinstance(definition, dict) or "name" not in definition:
            raise StackFileError(f"{self.directory / 'Pulumi.yaml'}: a project file needs a `name`")
        return definition

    def stack_file(self, stack: str) -> Path:
        return self.stacks_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        """Every stack with a stack file, by name."""
        return sorted(
            p.name.removeprefix("Pulumi.").removesuffix(".yaml")
            for p in self.stacks_dir.glob("Pulumi.*.yaml")
        )

    def require_stack_file(self, stack: str) -> Path:
        """The stack file of `stack`; if there is none, an error that says how to create it."""
        path = self.stack_file(stack)
        if not path.exists():
            shown = path.relative_to(self.directory) if path.is_relative_to(self.directory) else path
            raise StackFileError(
                f"Stack '{stack}' has no stack file {shown}. Create it from another stack's, e.g. "
                f"`cp {shown.with_name('Pulumi.dev.yaml')} {shown}`, and set its environment if its name "
                f"is not one: `pulumi config set environment dev --stack {stack}`."
            )
        return path

    def stack_config(self, stack: str) -> dict[str, Any]:
        """The `config:` map of `Pulumi.<stack>.yaml`: the project's keys without the `<project>:` prefix,
        other namespaces' keys whole, secure values as `Secure`."""
        path = self.require_stack_file(stack)
        document = _read_yaml(path, f"the stack file of '{stack}'") or {}
        config = document.get("config") if isinstance(document, dict) else None
        if not isinstance(config, dict | None):
            raise StackFileError(f"{path}: `config:` must be a map of keys to values")
        prefix = f"{self.name}:"
        return {key.removeprefix(prefix): _secure(value) for key, value in (config or {}).items()}

    def _engine_config(self, config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
        """Config and its secret keys as the engine hands them to a program (`<project>:` restored)."""
        full = {(k if ":" in k else f"{self.name}:{k}"): v for k, v in config.items()}
        return {k: _engine_value(v) for k, v in full.items()}, [k for k, v in full.items() if _has_secure(v)]

    def _run(
        self,
        stack: str | None,
        overrides: Mapping[str, Any] | None,
        secrets: Mapping[str, str] | None,
        stack_name: str | None,
    ) -> tuple[_RecordingMonitor, dict[str, Any], BaseException | None]:
        config = self.stack_config(stack) if stack else {}
        for path, value in (overrides or {}).items():
            _apply(config, path, value)
        config.update({key: Secure(value) for key, value in (secrets or {}).items()})
        values, secret_keys = self._engine_config(config)
        main = self.directory / "__main__.py"
        return _execute(
            lambda: runpy.run_path(str(main), run_name="__main__"),
            project=self.name,
            stack=stack_name or stack or "dev",
            config=values,
            secret_keys=secret_keys,
        )

    def run(
        self,
        stack: str | None = "dev",
        *,
        overrides: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        stack_name: str | None = None,
    ) -> Run:
        """Runs `__main__.py` with the config of `Pulumi.<stack>.yaml`, dotted-path `overrides` and secret
        config values (as `pulumi config set --secret` sets them)."""
        monitor, outputs, error = self._run(stack, overrides, secrets, stack_name)
        if error is not None:
            raise error
        return Run(monitor.recorded, outputs)

    def run_expecting_error(
        self,
        stack: str | None = "dev",
        *,
        overrides: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        stack_name: str | None = None,
    ) -> tuple[BaseException, list[Res]]:
        """Like `run`, for a run that must fail: returns the error and whatever was registered."""
        monitor, _, error = self._run(stack, overrides, secrets, stack_name)
        assert error is not None, "the program was expected to fail but succeeded"
        return error, monitor.recorded
