"""The spec base: one declaration per field, every problem at once with its path, value and what is allowed,
the same checks for a library user and a stack user, and a schema view the SDK's analyzer can read."""

import typing

import pulumi
import pytest

from mesh_tracing import (
    ExposureMode,
    IngressGatewayArgs,
    IstioControlPlaneArgs,
    IstiodScale,
    JaegerArgs,
    JaegerStorage,
    MeshTracingArgs,
    SpecError,
    StorageKind,
    TracedMeshArgs,
    TracingBackend,
    TracingBackendKind,
)
from mesh_tracing.jaeger_storage import CassandraStorage
from mesh_tracing.settings import SettingsError
from tests.program import run_program_expecting_error


def problems_of(error: SpecError, camel: bool = False) -> list[str]:
    return [problem.describe(camel) for problem in error.problems]


def test_a_bad_value_names_its_path_the_value_and_what_is_allowed() -> None:
    with pytest.raises(SpecError) as refused:
        MeshTracingArgs(sampling_percentage=150)
    assert str(refused.value) == (
        "Invalid MeshTracingArgs (1 problem):\n"
        "  - sampling_percentage: got 150; allowed: less than or equal to 100"
    )


def test_every_problem_is_reported_at_once_even_beside_invalid_fields() -> None:
    gateway = {"exposure": "moon", "hosts": ["a.example.com"]}
    spec, problems = TracedMeshArgs.check(
        {
            "tracing": {"sampling_percentage": 5},
            "gateway": gateway,
            "istio": {"istiod": {"min_replicas": 3, "max_replicas": 2}},
        }
    )
    assert spec is None
    # The gateway's field error, and the rule of the valid istio part.
    assert [p.where() for p in problems] == ["gateway.exposure", "istio.istiod.max_replicas"]


def test_stack_files_see_camelcase_paths_and_their_own_map_keys() -> None:
    tag = {"header": "user-agent", "literal": "b"}
    with pytest.raises(SpecError) as refused:
        MeshTracingArgs.parse({"sampling_percentage": 1, "custom_tags": {"user_agent": tag}})
    (problem,) = refused.value.problems
    assert problem.where(camel=False) == "custom_tags.user_agent"
    assert problem.where(camel=True) == "customTags.user_agent"


def test_references_to_other_fields_follow_the_readers_style() -> None:
    with pytest.raises(SpecError) as refused:
        IstioControlPlaneArgs.parse({"istiod": {"min_replicas": 3, "max_replicas": 2}})
    (problem,) = refused.value.problems
    assert problem.describe() == "istiod.max_replicas: got 2; allowed: >= istiod.min_replicas (3)"
    assert problem.describe(camel=True) == "istiod.maxReplicas: got 2; allowed: >= istiod.minReplicas (3)"


def test_a_secret_is_never_shown_in_an_error() -> None:
    with pytest.raises(SpecError) as refused:
        JaegerArgs.parse({"storage": {"kind": StorageKind.MEMORY}, "storage_password": 12345})
    assert problems_of(refused.value) == [
        "storage_password: got (secret, not shown); allowed: a valid string"
    ]


def test_the_alternatives_of_an_input_fail_as_one_problem() -> None:
    with pytest.raises(SpecError) as refused:
        MeshTracingArgs.parse({"sampling_percentage": 1, "root_namespace": 7})
    assert problems_of(refused.value) == ["root_namespace: got 7; allowed: a valid string"]


def test_an_unknown_field_lists_the_fields_a_caller_sets() -> None:
    with pytest.raises(SpecError) as refused:
        MeshTracingArgs.parse({"sampling_percentage": 1, "samplingPercentag": 1})
    (problem,) = refused.value.problems
    assert problem.where() == "samplingPercentag"
    allowed = problem.allowed_text(camel=True)
    assert allowed.startswith("one of samplingPercentage, highSamplingReason, backend")
    # Wired fields are the enclosing component's to fill; they are not offered.
    assert "rootNamespace" not in allowed and "environment," not in allowed


def test_a_wired_field_is_an_input_alone_but_refused_inside_the_composite() -> None:
    alone = MeshTracingArgs(sampling_percentage=1, root_namespace="mesh-system")
    assert alone.root_namespace == "mesh-system"
    with pytest.raises(SpecError) as refused:
        TracedMeshArgs(
            tracing=alone.model_copy(
                update={"backend": TracingBackend(kind=TracingBackendKind.ZIPKIN, service="z.example.com")}
            ),
            gateway=IngressGatewayArgs(exposure=ExposureMode.CLUSTER, hosts=["a.example.com"]),
        )
    assert problems_of(refused.value) == [
        "tracing.root_namespace: got (set); allowed: unset: TracedMesh, from the control plane"
    ]


def test_a_spec_built_without_its_constructor_is_still_checked_by_the_component() -> None:
    unchecked = JaegerArgs.model_validate(
        {
            "storage": JaegerStorage(
                kind=StorageKind.CASSANDRA, cassandra=CassandraStorage(servers=["c"], username="u")
            )
        }
    )
    with pytest.raises(SpecError) as refused:
        JaegerArgs.parse(unchecked)
    assert problems_of(refused.value) == [
        "storage_password: got (not set); allowed: required with storage.cassandra.username"
    ]


def test_the_schema_view_is_optional_where_defaulted_and_free_of_constraints() -> None:
    # What Pulumi's schema analyzer reads: `inspect.get_annotations`, i.e. `__annotations__`.
    assert IstiodScale.__annotations__["min_replicas"] == typing.Optional[int]  # noqa: UP045
    with pytest.raises(SpecError):
        IstiodScale(min_replicas=0)  # defaulted in the schema, bounded all the same
    assert IngressGatewayArgs.__annotations__["hosts"] == list[str], "required, and no pattern to trip on"
    assert IngressGatewayArgs.__annotations__["exposure"] is ExposureMode
    token = typing.get_args(TracingBackend.__annotations__["token"])
    assert str in token and type(None) in token, "an optional Input of a string"


def test_refused_input_is_a_run_error_which_pulumi_reports_by_its_message_alone() -> None:
    # Pulumi's Python language host logs a RunError's message and no traceback; any other exception gets
    # the whole traceback printed before the problem list.
    with pytest.raises(pulumi.RunError):
        MeshTracingArgs(sampling_percentage=101)
    error, _ = run_program_expecting_error("dev", overrides={"tracing.samplingPercentage": 101})
    assert isinstance(error, SettingsError) and isinstance(error, pulumi.RunError)
