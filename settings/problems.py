"""How invalid settings are reported: every problem names the stack, the key path, the value found and
what is allowed, and all of them are raised together."""

import json
from dataclasses import dataclass
from typing import Any

import pulumi


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


MISSING: Any = _Missing()
UNKNOWN_KEY = "(unknown key)"


@dataclass(frozen=True)
class Problem:
    """One invalid setting: where it is, what it was, and what is allowed instead."""

    path: str
    value: Any
    allowed: str

    def describe(self, stack: str) -> str:
        return f"[stack {stack}] {self.path}: got {_show(self.value)}; allowed: {self.allowed}"


class SettingsError(pulumi.RunError):
    """Invalid stack configuration. Raised before any resource is registered."""

    def __init__(self, stack: str, problems: list[Problem]) -> None:
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p.describe(stack)}" for p in problems)
        super().__init__(
            f"Invalid configuration for stack '{stack}' ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}); nothing was deployed:\n{lines}"
        )


def _show(value: Any) -> str:
    if isinstance(value, _Missing) or (isinstance(value, str) and value.startswith("(")):
        return str(value)
    text = json.dumps(value, default=repr)
    return text if len(text) <= 80 else text[:77] + "..."
