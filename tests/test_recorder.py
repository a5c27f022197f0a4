"""The recording engine itself: it must not let a test pass on values it never saw."""

import asyncio

import pulumi
import pytest

from mesh_tracing.tooling.recorder import Secret, UnresolvedOutputError, record


def test_an_output_that_never_resolves_fails_the_test_that_reads_it() -> None:
    def program() -> None:
        known: asyncio.Future[bool] = asyncio.Future()
        known.set_result(False)
        value: asyncio.Future[str] = asyncio.Future()
        value.set_result("unknown")
        pulumi.export("pending", pulumi.Output(set(), value, known))

    run = record(program)
    with pytest.raises(UnresolvedOutputError):
        run.output("pending")


def test_a_secret_output_is_recorded_as_a_secret() -> None:
    run = record(lambda: pulumi.export("token", pulumi.Output.secret("s3cr3t")))
    assert run.output("token") == Secret("s3cr3t")
    assert "s3cr3t" not in repr(run.output("token"))


def test_waiting_for_a_component_means_waiting_for_everything_inside_it() -> None:
    def program() -> None:
        group = pulumi.ComponentResource("test:index:Group", "group")
        pulumi.CustomResource("test:index:Thing", "inner", opts=pulumi.ResourceOptions(parent=group))
        pulumi.CustomResource("test:index:Thing", "after", opts=pulumi.ResourceOptions(depends_on=[group]))
        pulumi.CustomResource("test:index:Thing", "unrelated")

    run = record(program)
    inner, after, unrelated = run.named("inner"), run.named("after"), run.named("unrelated")
    assert run.waits_for(after, inner)
    assert not run.waits_for(unrelated, inner)
    assert not run.waits_for(inner, after)
