"""The mesh-tracing policy pack. MANDATORY in prod, ADVISORY elsewhere.

`make preview` and `make up` run it as `--policy-pack policy`, with the stack's environment in
MESH_TRACING_ENVIRONMENT (prod when unset: the strict default).
"""

import os
import sys
from collections.abc import Callable
from pathlib import Path

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project root: mesh_tracing, policy

from policy.rules import POLICIES, PROD, Policy, Resource

ENVIRONMENT = os.environ.get("MESH_TRACING_ENVIRONMENT", PROD)


def _validator(policy: Policy) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [Resource(r.resource_type, r.name, r.props) for r in args.resources]
        for problem in policy.check(resources, ENVIRONMENT):
            report_violation(problem, None)

    return validate


PolicyPack(
    name="mesh-tracing",
    enforcement_level=EnforcementLevel.MANDATORY if ENVIRONMENT == PROD else EnforcementLevel.ADVISORY,
    policies=[
        StackValidationPolicy(name=p.name, description=p.description, validate=_validator(p))
        for p in POLICIES
    ],
)
