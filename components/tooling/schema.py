"""The component provider's package schema, as the Pulumi SDK's analyzer infers it from the components.

python -m mesh_tracing.tooling.schema > schema.json
"""

import json
import sys
from typing import Any

from pulumi.provider.experimental.component import ComponentProvider

import mesh_tracing

NAME = "mesh-tracing"
"""The package name: the first part of every component's type token."""


def hosted() -> dict[str, Any]:
    """What the plugin hosts: `component_provider_host`'s arguments."""
    return {"components": mesh_tracing.COMPONENTS, "name": NAME, "version": mesh_tracing.__version__}


def provider_schema() -> dict[str, Any]:
    """The schema the plugin serves (`pulumi package get-schema provider/`)."""
    provider = ComponentProvider(**hosted())
    schema: dict[str, Any] = json.loads(provider.schema or "{}")
    return schema


if __name__ == "__main__":
    json.dump(provider_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
