"""Typed specs: each component takes one, and each field is declared once, there, with its default, its
bound and its docstring.

A spec is a pydantic model. Pydantic checks each field (type, bound, pattern, choice); a spec's `_rules`
check what spans fields. Both are reported together, as one `SpecError` whose problems each name the field
path, the value found and what is allowed, before a component registers anything. The stack settings are
made of these same specs, so a stack user and a library user get the same checks.
"""

import json
import math
import re
import types
import typing
from collections import abc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Self, get_args, get_origin

import pulumi
from pulumi.provider.experimental.analyzer import Analyzer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel


class Key(str):
    """A map key chosen by the user (a tag name, a chart name) in a field path: never renamed."""

    __slots__ = ()


PathPart = str | int
FieldPath = tuple[PathPart, ...]


class _Shown(str):
    """A value shown as text, not as JSON (`(not set)`, `(unknown key)`)."""

    __slots__ = ()


NUMBERS_AS_TEXT = "numbers_as_text"
"""Validation context key: read numbers given as text (see `Spec.check`)."""

MISSING: Any = _Shown("(not set)")
UNKNOWN_KEY: Any = _Shown("(unknown key)")
SET: Any = _Shown("(set)")
NOT_SHOWN: Any = _Shown("(secret, not shown)")
PLAIN_TEXT: Any = _Shown("(plain text, value not shown)")


def render_path(path: FieldPath, camel: bool) -> str:
    """`("istiod", "min_replicas")` as `istiod.min_replicas`, or `istiod.minReplicas` for stack files."""
    return ".".join(
        part if isinstance(part, Key) else str(part) if isinstance(part, int) or not camel else to_camel(part)
        for part in path
    )


@dataclass(frozen=True)
class Problem:
    """One invalid field: where it is, what it was, and what is allowed instead.

    `allowed` may name other fields as `{0}`, `{1}`: they are `refs`, paths rendered in the reader's style.
    """

    path: FieldPath
    value: Any
    allowed: str
    refs: tuple[FieldPath, ...] = ()
    keys: tuple[str, ...] = ()
    """Field names the reader may use instead (for an unknown key), rendered in the reader's style."""

    def under(self, *prefix: PathPart) -> "Problem":
        return replace(self, path=(*prefix, *self.path), refs=tuple((*prefix, *ref) for ref in self.refs))

    def where(self, camel: bool = False) -> str:
        return render_path(self.path, camel)

    def allowed_text(self, camel: bool = False) -> str:
        if self.keys:
            return f"{self.allowed} " + ", ".join(to_camel(k) if camel else k for k in self.keys)
        if not self.refs:
            return self.allowed
        return self.allowed.format(*(render_path(ref, camel) for ref in self.refs))

    def describe(self, camel: bool = False) -> str:
        return f"{self.where(camel)}: got {show(self.value)}; allowed: {self.allowed_text(camel)}"


def show(value: Any) -> str:
    if isinstance(value, _Shown):
        return str(value)
    if isinstance(value, pulumi.Output):
        return "(an Output)"
    text = json.dumps(value, default=lambda v: getattr(v, "value", repr(v)))
    return text if len(text) <= 80 else text[:77] + "..."


class SpecError(pulumi.RunError, ValueError):
    """Invalid args for a component: every problem, raised before anything is registered. A `RunError`, so
    `pulumi up` prints the problems alone, without a traceback."""

    def __init__(self, spec: str, problems: Sequence[Problem]) -> None:
        self.spec = spec
        self.problems = list(problems)
        lines = "\n".join(f"  - {p.describe()}" for p in self.problems)
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(f"Invalid {spec} ({count}):\n{lines}")


def wired(default: Any, by: str) -> Any:
    """A field that an enclosing component fills from another part (`by` says from what). Set it when you
    use the component on its own; inside the enclosing component, setting it is refused."""
    return Field(default, json_schema_extra={"wired_by": by})


def secret() -> Any:
    """A secret field (a password, a token), unset by default. Its value is never shown in an error, and the
    component keeps it in a Kubernetes Secret only."""
    return Field(None, json_schema_extra={"secret": True})


def _metadata(field: Any, key: str) -> Any:
    extra = field.json_schema_extra
    return extra.get(key) if isinstance(extra, dict) else None


class Spec(BaseModel):
    """Base of every spec: snake_case fields (camelCase accepted too), unknown fields refused, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        loc_by_alias=False,
        frozen=True,
        strict=True,
        arbitrary_types_allowed=True,
        use_attribute_docstrings=True,
    )

    if not TYPE_CHECKING:
        # Hidden from type checkers, which keep checking the fields of every constructor call.
        def __init__(self, **data: Any) -> None:
            try:
                super().__init__(**data)
            except ValidationError as error:
                raise SpecError(type(self).__name__, problems_from(error, type(self))) from None
            if problems := self.problems():
                raise SpecError(type(self).__name__, problems)

        # Pydantic's own validation of nested specs (from a map or JSON) skips this constructor, as it does
        # the base one: the enclosing spec reports the nested rules, with their full paths.
        __init__.__pydantic_base_init__ = True

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # `pulumi.Input[T]` refers to `Output[T]` by name.
        cls.model_rebuild(force=True, _types_namespace={"Output": pulumi.Output, "T": Any})
        cls.__annotations__ = _schema_view(cls)

    @model_validator(mode="before")
    @classmethod
    def _numbers_from_text(cls, data: Any, info: ValidationInfo) -> Any:
        """Stack config may hold a number as text: `pulumi config set --path a.b 0.5` stores "0.5" (only
        integers and true/false become typed). With `numbers_as_text`, such text is read as the number."""
        if not (info.context or {}).get(NUMBERS_AS_TEXT) or not isinstance(data, dict):
            return data
        converted = dict(data)
        for name, field in cls.model_fields.items():
            kind = unwrap(field.annotation)
            for key in {name, field.alias or name}:
                if kind in (int, float) and isinstance(converted.get(key), str):
                    converted[key] = _number(converted[key], kind)
        return converted

    @classmethod
    def parse(cls, args: "Self | Mapping[str, Any]") -> Self:
        """The spec from an instance or a plain map (as a provider for other languages passes it)."""
        spec, problems = cls.check(args)
        if spec is None or problems:
            raise SpecError(cls.__name__, problems)
        return spec

    @classmethod
    def check(
        cls, args: "Self | Mapping[str, Any] | str", *, numbers_as_text: bool = False
    ) -> tuple[Self | None, list[Problem]]:
        """Like `parse`, returning the problems instead of raising them. `args` may also be a JSON document,
        such as stack config, whose choices are plain strings; `numbers_as_text` reads "0.5" where a number
        is expected, as `pulumi config set` may store it. When some fields are invalid, the rules of the
        nested specs that are valid still run, so that every problem shows at once."""
        if isinstance(args, cls):
            return args, args.problems()
        context = {NUMBERS_AS_TEXT: numbers_as_text}
        try:
            if isinstance(args, str):
                spec = cls.model_validate_json(args, context=context)
            else:
                spec = cls.model_validate(args, context=context)
        except ValidationError as error:
            problems = problems_from(error, cls)
            broken = {p.path[0] for p in problems if p.path}
            return None, problems + _rules_of_valid_parts(cls, args, broken, numbers_as_text)
        return spec, spec.problems()

    def problems(self) -> list[Problem]:
        """This spec's rules, and those of every spec nested in it, with paths from here."""
        found = list(self._rules())
        for name, value in self._nested():
            found += [p.under(*name) for p in value.problems()]
            found += [p.under(*name) for p in value._wired_fields_set()]
        return found

    def _rules(self) -> Iterable[Problem]:
        """Checks that span fields. Override; paths are relative to this spec."""
        return ()

    def _nested(self) -> Iterator[tuple[FieldPath, "Spec"]]:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Spec):
                yield (name,), value
            elif isinstance(value, list):
                yield from (((name, i), v) for i, v in enumerate(value) if isinstance(v, Spec))
            elif isinstance(value, dict):
                yield from (((name, Key(k)), v) for k, v in value.items() if isinstance(v, Spec))

    def _wired_fields_set(self) -> Iterator[Problem]:
        # Inside its enclosing spec, a wired field is filled by the enclosing component; a value set here
        # would be silently replaced.
        for name, field in type(self).model_fields.items():
            by = _metadata(field, "wired_by")
            if by and name in self.model_fields_set:
                yield Problem((name,), SET, f"unset: {by}")


def _number(text: str, kind: type) -> Any:
    """`text` as an int or a finite float, or unchanged (so that validation refuses it)."""
    pattern = r"[+-]?\d+" if kind is int else r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
    if not re.fullmatch(pattern, text.strip()):
        return text
    number = kind(text.strip())
    return number if math.isfinite(number) else text


def _rules_of_valid_parts(
    cls: type[Spec], args: Any, broken: set[PathPart], numbers_as_text: bool
) -> list[Problem]:
    document = json.loads(args) if isinstance(args, str) else args
    if not isinstance(document, Mapping):
        return []
    problems: list[Problem] = []
    for name, field in cls.model_fields.items():
        part_type = unwrap(field.annotation)
        raw = document.get(name, document.get(to_camel(name)))
        if name in broken or raw is None or not _is_spec(part_type):
            continue
        _, part_problems = part_type.check(
            json.dumps(raw) if isinstance(args, str) else raw, numbers_as_text=numbers_as_text
        )
        problems += [p.under(name) for p in part_problems]
    return problems


def problems_from(error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Pydantic's errors as problems, one per field (a union's alternatives fail together)."""
    problems: dict[FieldPath, Problem] = {}
    for detail in error.errors(include_url=False):
        path, field, owner = _clean_path(model, tuple(detail["loc"]))
        if path in problems:
            continue
        kind = detail["type"]
        if kind == "extra_forbidden":
            problems[path] = Problem(path, UNKNOWN_KEY, "one of", keys=_settable(owner))
            continue
        value = MISSING if kind == "missing" else detail.get("input")
        if field is not None and _metadata(field, "secret") and value is not MISSING:
            value = NOT_SHOWN
        choice = unwrap(field.annotation) if field is not None else None
        if kind != "missing" and isinstance(choice, type) and issubclass(choice, Enum):
            # Strict specs take a choice's member from Python; say which values there are.
            problems[path] = Problem(path, value, _choices(choice))
        else:
            problems[path] = Problem(path, value, _allowed(detail))
    return list(problems.values())


def _choices(enum: type[Enum]) -> str:
    """`'a', 'b' or 'c'`, as pydantic words the choices of a stack file's value."""
    values = [repr(member.value) for member in enum]
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def _settable(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields a caller sets (wired and secret fields have their own way in)."""
    return tuple(
        name
        for name, field in model.model_fields.items()
        if not (_metadata(field, "wired_by") or _metadata(field, "secret"))
    )


def _allowed(detail: Mapping[str, Any]) -> str:
    if detail["type"] == "missing":
        return "a value is required here"
    pattern = (detail.get("ctx") or {}).get("pattern")
    if pattern:
        return f"a string matching {pattern}"
    message: str = detail["msg"]
    return message.removeprefix("Input should be ").removeprefix("Value error, ")


def _clean_path(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[FieldPath, Any, type[BaseModel]]:
    """Pydantic's location without the names of union alternatives (`str`, `is-instance[Output]`), with user
    map keys marked as such; also the field it ends in and the model that holds that field."""
    path: list[PathPart] = []
    current: Any = model
    owner: type[BaseModel] = model
    field = None
    for part in loc:
        current = unwrap(current)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            owner, field = current, current.model_fields.get(part)
            path.append(part)
            if field is None:  # an unknown key: nothing below it to follow
                break
            current = field.annotation
        elif origin in (list, abc.Sequence) and isinstance(part, int):
            path.append(part)
            current = get_args(current)[0]
        elif origin in (dict, abc.Mapping) and isinstance(part, str) and part != "[key]":
            path.append(Key(part))
            current = get_args(current)[1]
        # anything else names a union alternative or a key check: not part of the path
    return tuple(path), field, owner


def unwrap(annotation: Any) -> Any:
    """`Annotated[T, ...]`, `T | None` and `pulumi.Input[T]` as `T`."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [
                member
                for member in get_args(annotation)
                if member is not type(None)
                and get_origin(member) not in (abc.Awaitable, pulumi.Output)
                and not isinstance(member, typing.ForwardRef)
            ]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_spec(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Spec)


def _plain(annotation: Any) -> Any:
    """`annotation` without pydantic's `Annotated` constraints, which the schema analyzer cannot read."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _plain(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_plain(a) for a in get_args(annotation))]  # noqa: UP007
    if origin in (list, dict):
        return origin[tuple(_plain(a) for a in get_args(annotation))]
    return annotation


def _schema_view(cls: type[Spec]) -> dict[str, Any]:
    """The annotations Pulumi's schema analyzer reads (`pulumi.provider.experimental`), which builds the
    provider schema for other languages. It reads `__annotations__` only: it knows no pydantic constraint,
    and a property is optional to it only when it may be None. Pydantic has already built its validator from
    the real annotations, so this view changes what the schema says, never what is checked: the plain type,
    made optional when the field has a default."""
    view: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        annotation = _plain(cls.__annotations__.get(name, field.annotation))
        if not field.is_required() and type(None) not in get_args(annotation):
            annotation = typing.Optional[annotation]  # noqa: UP045
        view[name] = annotation
    return view


def _inherited_field_docs() -> None:
    """The SDK's analyzer reads a property's docstring from the source of the class it analyzes, so a field a
    spec inherits from a base spec (the access fields every UI shares) would lose its documentation in the
    schema. Pydantic has that same docstring as the field's description: the analyzer falls back to it."""
    own_source = Analyzer.get_docstring

    def get_docstring(self: Analyzer, typ: type, name: str) -> str | None:
        found = own_source(self, typ, name)
        if (
            found is None
            and isinstance(typ, type)
            and issubclass(typ, BaseModel)
            and name in typ.model_fields
        ):
            return typ.model_fields[name].description
        return found

    Analyzer.get_docstring = get_docstring  # type: ignore[method-assign]


_inherited_field_docs()
