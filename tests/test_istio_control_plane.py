"""The Istio control plane component: charts, versions, ordering, CRD safety and mesh config."""

from typing import Any

import pulumi

from components import ChartSource, IstioControlPlane, IstioControlPlaneArgs
from components.istio_control_plane import CRD_TYPE
from tests.harness import PROJECT, Run, build, run_program

OFFICIAL = ChartSource("https://istio-release.storage.googleapis.com/charts", "1.30.3")


def build_control_plane(**overrides: Any) -> Run:
    args: IstioControlPlaneArgs = {"chart_source": OFFICIAL, "revision": "1-30-3", **overrides}  # type: ignore[typeddict-item]
    return build(lambda: IstioControlPlane("mesh", args))


def test_chart_version_and_private_mirror_from_config_reach_every_chart() -> None:
    run = run_program(
        "dev",
        overrides={
            "istio.version": "1.29.2",
            "istio.chartRepository": "https://charts.internal.example.com/istio",
            "istio.cniEnabled": True,
        },
    )
    charts = run.of_type("kubernetes:helm.sh/v4:Chart")
    assert sorted(c.at("chart") for c in charts) == ["base", "cni", "gateway", "istiod"]
    for chart in charts:
        assert chart.at("version") == "1.29.2", chart.name
        assert chart.at("repositoryOpts", "repo") == "https://charts.internal.example.com/istio", chart.name
    assert run.output("istioRevision") == "1-29-2"


def test_an_oci_registry_addresses_each_chart_by_url() -> None:
    run = build_control_plane(chart_source=ChartSource("oci://registry.example.com/istio/charts/", "1.30.3"))
    assert run.named("mesh-istiod").at("chart") == "oci://registry.example.com/istio/charts/istiod"
    assert run.named("mesh-base").at("chart") == "oci://registry.example.com/istio/charts/base"
    assert "repositoryOpts" not in run.named("mesh-istiod").inputs


def test_image_hub_and_tag_overrides_reach_the_global_values() -> None:
    run = run_program(
        "dev", overrides={"istio.hub": "mirror.example.com/istio", "istio.tag": "1.30.3-distroless"}
    )
    for chart in ("istio-base", "istio-istiod"):
        global_values = run.named(chart).at("values", "global")
        assert global_values["hub"] == "mirror.example.com/istio", chart
        assert global_values["tag"] == "1.30.3-distroless", chart


def test_crds_are_retained_when_pulumi_deletes_them() -> None:
    base = build_control_plane().named("mesh-base")
    assert base.transforms, "the base chart has no resource transform"
    crd = pulumi.ResourceTransformArgs(True, CRD_TYPE, "telemetries", {}, pulumi.ResourceOptions())
    results = [t(crd) for t in base.transforms]
    assert any(r is not None and r.opts.retain_on_delete for r in results)
    other = pulumi.ResourceTransformArgs(
        True, "kubernetes:core/v1:ServiceAccount", "sa", {}, pulumi.ResourceOptions()
    )
    assert all(t(other) is None for t in base.transforms)


def test_istiod_waits_for_the_crds_and_the_namespace() -> None:
    run = build_control_plane()
    istiod = run.named("mesh-istiod")
    assert run.waits_for(istiod, run.named("mesh-base"))
    assert run.waits_for(istiod, run.named("mesh-namespace"))
    assert not run.waits_for(run.named("mesh-base"), istiod)


def test_cni_is_installed_before_istiod_and_istiod_uses_it() -> None:
    run = build_control_plane(cni_enabled=True)
    cni = run.named("mesh-cni")
    assert cni.at("chart") == "cni"
    assert run.waits_for(run.named("mesh-istiod"), cni)
    assert run.named("mesh-istiod").at("values", "cni", "enabled") is True


def test_without_cni_no_cni_chart_is_declared() -> None:
    run = build_control_plane()
    assert [c.at("chart") for c in run.of_type("kubernetes:helm.sh/v4:Chart")] == ["base", "istiod"]
    assert run.named("mesh-istiod").at("values", "cni", "enabled") is False


def test_webhook_failure_policy_is_pinned_on_both_charts_to_avoid_perpetual_diffs() -> None:
    run = build_control_plane()
    for chart in ("mesh-base", "mesh-istiod"):
        assert run.named(chart).at("values", "base", "validationFailurePolicy") == "Fail", chart
    assert run.named("mesh-base").at("values", "defaultRevision") == "1-30-3"


def test_extension_providers_reach_mesh_config_with_tracing_enabled() -> None:
    provider = {"name": "otel", "opentelemetry": {"service": "c.tracing.svc.cluster.local", "port": 4317}}
    mesh_config = (
        build_control_plane(extension_providers=[provider]).named("mesh-istiod").at("values", "meshConfig")
    )
    assert mesh_config["extensionProviders"] == [provider]
    assert mesh_config["enableTracing"] is True


def test_extra_values_are_merged_last_without_dropping_other_keys() -> None:
    run = build_control_plane(
        istiod_min_replicas=2,
        istiod_max_replicas=4,
        extra_values={
            "istiod": {"autoscaleMax": 9, "global": {"logAsJson": True}},
            "base": {"experimental": {}},
        },
    )
    values = run.named("mesh-istiod").at("values")
    assert values["autoscaleMax"] == 9
    assert values["global"]["logAsJson"] is True
    assert values["global"]["istioNamespace"] == "istio-system"
    assert values["autoscaleMin"] == 2
    assert run.named("mesh-base").at("values", "experimental") == {}


def test_an_existing_namespace_is_read_not_created() -> None:
    run = build_control_plane(create_namespace=False, namespace="mesh-system")
    namespace = run.named("mesh-namespace")
    assert namespace.read and namespace.inputs["id"] == "mesh-system"
    assert all(r.read for r in run.of_type("kubernetes:core/v1:Namespace"))
    assert run.named("mesh-istiod").at("namespace") == "mesh-system"


def test_every_child_is_parented_and_prefixed_by_the_component() -> None:
    run = build_control_plane(cni_enabled=True)
    component = run.one(f"{PROJECT}:index:IstioControlPlane", "mesh")
    children = run.descendants(component)
    assert len(children) == 4
    for child in children:
        assert child.parent == component.urn and child.name.startswith("mesh-"), child.name


def test_the_injection_label_output_names_the_revision() -> None:
    def program() -> None:
        plane = IstioControlPlane("mesh", {"chart_source": OFFICIAL, "revision": "canary"})
        pulumi.export("labels", plane.injection_labels)
        pulumi.export("root", plane.root_namespace)

    run = build(program)
    assert run.output("labels") == {"istio.io/rev": "canary"}
    assert run.output("root") == "istio-system"
