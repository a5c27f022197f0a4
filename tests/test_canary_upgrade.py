"""A canary upgrade of Istio by revision, one config change per step: each step renders, and changes exactly
what it should."""

from typing import Any

import pytest

from mesh_tracing import IstioControlPlane, IstioControlPlaneArgs
from mesh_tracing.istio_control_plane import IstioRevision
from mesh_tracing.spec import SpecError
from mesh_tracing.tooling.plan_diff import compare
from mesh_tracing.tooling.recorder import Run, record
from tests.program import plan_document, run_program

CHART = "kubernetes:helm.sh/v4:Chart"
OLD, NEW = "1-30-3", "1-31-0"
STEPS: dict[str, dict[str, Any]] = {
    "old only": {},
    "both": {"istio.canary": {"version": "1.31.0"}},
    "tag moved": {"istio.canary": {"version": "1.31.0"}, "istio.tags": {"stable": NEW}},
    "old removed": {"istio.version": "1.31.0"},
}
BOOKINFO = {
    f"kubernetes:apps/v1:Deployment::bookinfo-{workload}"
    for workload in ("details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3")
}


def step(name: str) -> dict[str, Any]:
    return plan_document("dev", run_program("dev", overrides=STEPS[name]))


def diff(before: str, after: str) -> dict[str, set[str]]:
    change = compare("dev", step(before), step(after))
    return {
        "changed": set(change.updated) | set(change.replaced),
        "added": set(change.created),
        "removed": set(change.deleted),
    }


def istiods(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["name"]: r["inputs"]
        for r in plan["resources"]
        if r["type"] == CHART and r["inputs"]["chart"] == "istiod"
    }


def test_adding_the_canary_adds_its_istiod_with_the_canary_tag_and_takes_the_crds_to_its_version() -> None:
    assert diff("old only", "both") == {
        "changed": {f"{CHART}::istio-istiod", f"{CHART}::istio-base"},
        "added": {f"{CHART}::istio-istiod-{NEW}"},
        "removed": set(),
    }
    charts = istiods(step("both"))
    assert charts["istio-istiod"]["values"]["revisionTags"] == ["stable"]
    assert charts[f"istio-istiod-{NEW}"]["values"]["revisionTags"] == ["canary"]
    assert charts[f"istio-istiod-{NEW}"]["version"] == "1.31.0"
    (base,) = [r["inputs"] for r in step("both")["resources"] if r["name"] == "istio-base"]
    assert (base["version"], base["values"]["defaultRevision"]) == ("1.31.0", OLD)


def test_moving_the_stable_tag_moves_the_gateway_and_restarts_our_meshed_workloads_onto_the_canary() -> None:
    assert diff("both", "tag moved") == {
        "changed": {
            f"{CHART}::istio-istiod",
            f"{CHART}::istio-istiod-{NEW}",
            f"{CHART}::istio-base",
            f"{CHART}::ingress-chart",
            *BOOKINFO,
        },
        "added": set(),
        "removed": set(),
    }
    plan = step("tag moved")
    charts = istiods(plan)
    assert charts["istio-istiod"]["values"]["revisionTags"] == []
    assert charts[f"istio-istiod-{NEW}"]["values"]["revisionTags"] == ["canary", "stable"]
    by_name = {r["name"]: r["inputs"] for r in plan["resources"]}
    gateway = by_name["ingress-chart"]
    assert (gateway["version"], gateway["values"]["revision"]) == ("1.31.0", "stable")
    assert gateway["values"]["podAnnotations"] == {"mesh-tracing/sidecar-revision": NEW}
    template = by_name["bookinfo-reviews-v1"]["spec"]["template"]["metadata"]
    assert template["annotations"] == {"mesh-tracing/sidecar-revision": NEW}
    assert by_name["istio-base"]["values"]["defaultRevision"] == NEW


def test_removing_the_old_revision_leaves_the_canary_as_the_control_planes_own_without_moving_objects() -> (
    None
):
    assert diff("tag moved", "old removed") == {
        "changed": {f"{CHART}::istio-istiod"},
        "added": set(),
        "removed": {f"{CHART}::istio-istiod-{NEW}"},
    }
    change = compare("dev", step("tag moved"), step("old removed"))
    assert change.adopted == {f"{CHART}::istio-istiod-{NEW}": f"{CHART}::istio-istiod"}
    (reason,) = change.replaced[f"{CHART}::istio-istiod"]
    assert reason.startswith(f"`values.revision` {OLD} → {NEW}")
    charts = istiods(step("old removed"))
    assert list(charts) == ["istio-istiod"]
    assert charts["istio-istiod"]["values"]["revision"] == NEW
    assert charts["istio-istiod"]["values"]["revisionTags"] == ["canary", "stable"]


def test_every_istiod_release_names_its_objects_alike_so_they_keep_their_identity_between_releases() -> None:
    # Objects are named `<prefix>:<object>`: the same prefix on both releases makes a moving tag's webhook
    # (or the canary's objects, when its release becomes the control plane's own) the same resource.
    prefixes = {inputs["resourcePrefix"] for inputs in istiods(step("both")).values()}
    assert prefixes == {"istio-istiod"}


def test_istio_resources_and_meshed_workloads_wait_for_every_istiod() -> None:
    run = run_program("dev", overrides=STEPS["both"])
    canary = run.named(f"istio-istiod-{NEW}")
    for resource in (run.named("tracing-mesh-default"), run.named("bookinfo-productpage-v1")):
        assert run.waits_for(resource, canary), resource.name


def test_crds_are_never_deleted_whichever_revision_renders_them() -> None:
    for name in STEPS:
        (base,) = [r for r in step(name)["resources"] if r["name"] == "istio-base"]
        assert base["options"]["transforms"] == ["retain_crds"], name


@pytest.mark.parametrize(
    ("args", "path", "allowed"),
    [
        (
            {"tags": {"canary": NEW}},
            "tags.canary",
            f"an installed revision ({OLD}): remove or move a tag before its revision",
        ),
        (
            {"canary": IstioRevision(version="1.31.0", revision=OLD)},
            "canary.revision",
            "a name of its own",
        ),
        ({"injection": "blue"}, "injection", "the mesh's namespaces and gateway still use it"),
    ],
    ids=["tag-to-a-revision-not-installed", "two-revisions-named-alike", "namespaces-on-a-missing-revision"],
)
def test_invalid_revision_states_are_refused(args: dict[str, Any], path: str, allowed: str) -> None:
    with pytest.raises(SpecError) as refused:
        IstioControlPlaneArgs(**args)
    (problem,) = refused.value.problems
    assert problem.where() == path and allowed in problem.allowed_text()


def test_alone_the_control_plane_runs_a_canary_with_its_tags() -> None:
    def program() -> None:
        IstioControlPlane(
            "mesh", IstioControlPlaneArgs(canary=IstioRevision(version="1.31.0"), tags={"stable": NEW})
        )

    run: Run = record(program)
    charts = {c.name: c for c in run.of_type(CHART)}
    assert charts["mesh-istiod"].at("values", "revisionTags") == []
    assert charts[f"mesh-istiod-{NEW}"].at("values", "revisionTags") == ["canary", "stable"]
    assert charts["mesh-base"].at("version") == "1.31.0"
