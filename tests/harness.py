"""A recording mock engine: runs the real program (or one component) under Pulumi's mocks and returns
every registered resource with its inputs, parent, dependencies and options, plus the stack outputs.
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

PROJECT_DIR = Path(__file__).resolve().parents[1]
PROJECT = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["name"]
STACKS = ("dev", "staging", "prod")
LIVE_CLUSTER_IP = "10.96.0.42"
"""The cluster IP the mocks give every Service read from the cluster."""
REMOVE = object()
"""Override value that deletes a key from the stack file's config."""
STACK_SECRETS: dict[str, dict[str, str]] = {"prod": {"jaegerStoragePassword": "test-only-password"}}
"""Secrets a shipped stack needs that are set with `pulumi config set --secret`, so are not in its file.
Runs of a stack file get them unless the test passes its own `secrets`."""


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


def stack_config(stack: str) -> dict[str, Any]:
    """The `config:` map of `stacks/Pulumi.<stack>.yaml`, keyed without the project prefix."""
    document = yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text()) or {}
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in (document.get("config") or {}).items()}


def _apply(config: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    if value is REMOVE:
        node.pop(leaf, None)
    else:
        node[leaf] = value


def _engine_config(config: Mapping[str, Any]) -> dict[str, str]:
    """Config as the engine hands it to a program: maps and lists as JSON, scalars as strings."""
    return {
        f"{PROJECT}:{k}": json.dumps(v) if isinstance(v, dict | list) else str(v) for k, v in config.items()
    }


def _execute(
    program: Callable[[], object], *, stack: str, config: Mapping[str, str], secret_keys: Iterable[str]
) -> tuple[_RecordingMonitor, dict[str, Any], BaseException | None]:
    monitor = _RecordingMonitor()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(_Mocks(), project=PROJECT, stack=stack, preview=False, monitor=monitor)
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


def _stack_inputs(
    stack: str | None,
    overrides: Mapping[str, Any] | None,
    secrets: Mapping[str, str] | None,
) -> tuple[dict[str, str], list[str]]:
    config = stack_config(stack) if stack else {}
    for path, value in (overrides or {}).items():
        _apply(config, path, value)
    if secrets is None:
        secrets = STACK_SECRETS.get(stack or "", {})
    config.update(secrets)
    secret_keys = [f"{PROJECT}:{k}" for k in secrets]
    return _engine_config(config), secret_keys


def _run_main(
    stack: str | None,
    overrides: Mapping[str, Any] | None,
    secrets: Mapping[str, str] | None,
    stack_name: str | None,
) -> tuple[_RecordingMonitor, dict[str, Any], BaseException | None]:
    config, secret_keys = _stack_inputs(stack, overrides, secrets)
    return _execute(
        lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__"),
        stack=stack_name or stack or "dev",
        config=config,
        secret_keys=secret_keys,
    )


def run_program(
    stack: str | None = "dev",
    *,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    stack_name: str | None = None,
) -> Run:
    """Runs `__main__.py` for `stacks/Pulumi.<stack>.yaml` with dotted-path `overrides` and secret config
    (by default the secrets the stack needs, from STACK_SECRETS)."""
    monitor, outputs, error = _run_main(stack, overrides, secrets, stack_name)
    if error is not None:
        raise error
    return Run(monitor.recorded, outputs)


def run_program_expecting_error(
    stack: str | None = "dev",
    *,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    stack_name: str | None = None,
) -> tuple[BaseException, list[Res]]:
    """Like `run_program`, for a run that must fail: returns the error and whatever was registered."""
    monitor, _, error = _run_main(stack, overrides, secrets, stack_name)
    assert error is not None, "the program was expected to fail but succeeded"
    return error, monitor.recorded


def build(program: Callable[[], object], stack: str = "test") -> Run:
    """Runs `program` (e.g. one component with hand-written args) under the recording mocks."""
    monitor, outputs, error = _execute(program, stack=stack, config={}, secret_keys=[])
    if error is not None:
        raise error
    return Run(monitor.recorded, outputs)
