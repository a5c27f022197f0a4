"""The stacks of this project, found from their stack files, and the environment each one is: for make and
the workflows, before anything is installed (standard library only).

    python3 scripts/stacks.py environment STACK   # the stack's environment, e.g. `prod` for prod-eu
    python3 scripts/stacks.py github              # GitHub step outputs: all=[...] and <environment>=[...]

A stack's environment is its `environment` key, or else its name (as the program reads it).
"""

import json
import re
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]


def _project_setting(key: str, default: str) -> str:
    found = re.search(rf"^{key}:\s*(\S+)", (PROJECT_DIR / "Pulumi.yaml").read_text(), re.MULTILINE)
    return found.group(1) if found else default


def stacks_dir() -> Path:
    return PROJECT_DIR / _project_setting("stackConfigDir", ".")


def stack_file(stack: str) -> Path:
    return stacks_dir() / f"Pulumi.{stack}.yaml"


def stack_files() -> dict[str, Path]:
    pattern = re.compile(r"^Pulumi\.(.+)\.yaml$")
    return {m.group(1): p for p in sorted(stacks_dir().glob("Pulumi.*.yaml")) if (m := pattern.match(p.name))}


def environment(stack: str, path: Path | None) -> str:
    project = _project_setting("name", "")
    text = path.read_text() if path and path.is_file() else ""
    found = re.search(rf"^\s+{re.escape(project)}:environment:\s*[\"']?([\w-]+)", text, re.MULTILINE)
    return found.group(1) if found else stack


def by_environment() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for stack, path in stack_files().items():
        groups.setdefault(environment(stack, path), []).append(stack)
    return groups


def main(argv: list[str]) -> int:
    if argv[:1] == ["environment"] and len(argv) == 2:
        print(environment(argv[1], stack_files().get(argv[1])))
    elif argv == ["github"]:
        print(f"all={json.dumps(list(stack_files()))}")
        for name, stacks in by_environment().items():
            print(f"{name}={json.dumps(stacks)}")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
