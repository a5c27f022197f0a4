"""The Istio control plane component: charts, versions, ordering, CRD safety and mesh config."""

import pulumi
import pytest

from mesh_tracing import (
    IstioControlPlane,
    IstioControlPlaneArgs,
    IstiodScale,
    IstioExtraValues,
    MtlsMode,
    SpecError,
)
from mesh_tracing.helm import CRD_TYPE
from mesh_tracing.tooling.recorder import Run, record, record_expecting_error
from tests.program import PROJECT, run_program


def build_control_plane(args: IstioControlPlaneArgs | None = None) -> Run:
    return record(lambda: IstioControlPlane("mesh", args or IstioControlPlaneArgs()))


def test_alone_it_installs_the_pinned_release_from_the_official_charts() -> None:
    run = build_control_plane()
    charts = {c.name: c for c in run.of_type("kubernetes:helm.sh/v4:Chart")}
    assert sorted(charts) == ["mesh-base", "mesh-istiod"]
    for chart in charts.values():
        assert chart.at("version") == "1.30.3", chart.name
        assert chart.at("repositoryOpts", "repo") == "https://istio-release.storage.googleapis.com/charts"
    assert charts["mesh-istiod"].at("values", "revision") == "1-30-3"


def test_chart_version_and_private_mirror_from_config_reach_every_chart() -> None:
    run = run_program(
        "dev",
        overrides={
            "istio.version": "1.29.2",
            "istio.chartRepository": "https://charts.internal.example.com/istio",
            "istio.cniEnabled": True,
        },
    )
    istio_parts = ("mesh-tracing:index:IstioControlPlane", "mesh-tracing:index:IngressGateway")
    charts = [
        c for c in run.of_type("kubernetes:helm.sh/v4:Chart") if any(p in c.parent for p in istio_parts)
    ]
    assert sorted(c.at("chart") for c in charts) == ["base", "cni", "gateway", "istiod"]
    for chart in charts:
        assert chart.at("version") == "1.29.2", chart.name
        assert chart.at("repositoryOpts", "repo") == "https://charts.internal.example.com/istio", chart.name
    assert run.output("istioRevision") == "1-29-2"


def test_an_oci_registry_addresses_each_chart_by_url() -> None:
    run = build_control_plane(
        IstioControlPlaneArgs(chart_repository="oci://registry.example.com/istio/charts/")
    )
    assert run.named("mesh-istiod").at("chart") == "oci://registry.example.com/istio/charts/istiod"
    assert run.named("mesh-base").at("chart") == "oci://registry.example.com/istio/charts/base"
    assert "repositoryOpts" not in run.named("mesh-istiod").inputs


def test_image_hub_and_tag_reach_only_the_charts_that_read_them() -> None:
    run = build_control_plane(
        IstioControlPlaneArgs(hub="mirror.example.com/istio", tag="1.30.3-distroless", cni_enabled=True)
    )
    for chart in ("mesh-istiod", "mesh-cni"):
        global_values = run.named(chart).at("values", "global")
        assert global_values["hub"] == "mirror.example.com/istio", chart
        assert global_values["tag"] == "1.30.3-distroless", chart
    # The base chart's templates read no image (only global.istioNamespace among these), and the cni
    # chart's read no istioNamespace: keys a chart does not read are not passed to it.
    assert run.named("mesh-base").at("values", "global") == {"istioNamespace": "istio-system"}
    assert "istioNamespace" not in run.named("mesh-cni").at("values", "global")


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


def test_cni_is_installed_before_istiod_and_the_injector_uses_it() -> None:
    run = build_control_plane(IstioControlPlaneArgs(cni_enabled=True))
    cni = run.named("mesh-cni")
    assert cni.at("chart") == "cni"
    assert run.waits_for(run.named("mesh-istiod"), cni)
    values = run.named("mesh-istiod").at("values")
    # The sidecar injection template reads `pilot.cni.enabled`; a top-level `cni` is read by no template.
    assert values["pilot"]["cni"]["enabled"] is True
    assert "cni" not in values


def test_without_cni_no_cni_chart_is_declared() -> None:
    run = build_control_plane()
    assert [c.at("chart") for c in run.of_type("kubernetes:helm.sh/v4:Chart")] == ["base", "istiod"]
    assert run.named("mesh-istiod").at("values", "pilot", "cni", "enabled") is False


def test_webhook_failure_policy_is_pinned_on_both_charts_to_avoid_perpetual_diffs() -> None:
    run = build_control_plane()
    for chart in ("mesh-base", "mesh-istiod"):
        assert run.named(chart).at("values", "base", "validationFailurePolicy") == "Fail", chart
    assert run.named("mesh-base").at("values", "defaultRevision") == "1-30-3"


def test_extension_providers_reach_mesh_config_with_tracing_enabled() -> None:
    provider = {"name": "otel", "opentelemetry": {"service": "c.tracing.svc.cluster.local", "port": 4317}}
    run = build_control_plane(IstioControlPlaneArgs(extension_providers=[provider]))
    mesh_config = run.named("mesh-istiod").at("values", "meshConfig")
    assert mesh_config["extensionProviders"] == [provider]
    assert mesh_config["enableTracing"] is True


def test_extra_values_are_merged_last_without_dropping_other_keys() -> None:
    run = build_control_plane(
        IstioControlPlaneArgs(
            istiod=IstiodScale(min_replicas=2, max_replicas=4),
            extra_values=IstioExtraValues(
                istiod={"autoscaleMax": 9, "global": {"logAsJson": True}}, base={"experimental": {}}
            ),
        )
    )
    values = run.named("mesh-istiod").at("values")
    assert values["autoscaleMax"] == 9
    assert values["global"]["logAsJson"] is True
    assert values["global"]["istioNamespace"] == "istio-system"
    assert values["autoscaleMin"] == 2
    assert run.named("mesh-base").at("values", "experimental") == {}


def test_an_existing_namespace_is_read_not_created() -> None:
    run = build_control_plane(IstioControlPlaneArgs(create_namespace=False, namespace="mesh-system"))
    namespace = run.named("mesh-namespace")
    assert namespace.read and namespace.inputs["id"] == "mesh-system"
    assert all(r.read for r in run.of_type("kubernetes:core/v1:Namespace"))
    assert run.named("mesh-istiod").at("namespace") == "mesh-system"


def test_every_child_is_parented_and_prefixed_by_the_component() -> None:
    run = build_control_plane(IstioControlPlaneArgs(cni_enabled=True, mtls_mode=MtlsMode.STRICT))
    component = run.one(f"{PROJECT.name}:index:IstioControlPlane", "mesh")
    children = [r for r in run.resources if r.parent == component.urn]
    assert sorted(c.name for c in children) == [
        "mesh-base",
        "mesh-cni",
        "mesh-istiod",
        "mesh-namespace",
        "mesh-security",
    ]


def test_alone_it_applies_the_mesh_wide_mtls_mode_after_a_ready_istiod() -> None:
    run = build_control_plane(IstioControlPlaneArgs(mtls_mode=MtlsMode.STRICT))
    peer = run.named("mesh-security-peer-authentication")
    assert peer.at("spec") == {"mtls": {"mode": "STRICT"}}
    assert peer.at("metadata", "namespace") == "istio-system"
    assert run.waits_for(peer, run.named("mesh-istiod")) and run.waits_for(peer, run.named("mesh-base"))
    assert not build_control_plane().of_type("kubernetes:security.istio.io/v1:PeerAuthentication")


def test_the_injection_label_output_names_the_tag_or_revision_namespaces_use() -> None:
    def program() -> None:
        plane = IstioControlPlane("mesh", IstioControlPlaneArgs(revision="blue", injection="blue"))
        pulumi.export("labels", plane.injection_labels)
        pulumi.export("root", plane.root_namespace)

    run = record(program)
    assert run.output("labels") == {"istio.io/rev": "blue"}
    assert run.output("root") == "istio-system"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            {"istiod": {"min_replicas": 3, "max_replicas": 2}},
            "istiod.max_replicas: got 2; allowed: >= istiod.min_replicas (3)",
        ),
        (
            {"chart_repository_username": "robot"},
            "chart_repository_password: got (not set); allowed: required with chart_repository_username",
        ),
        (
            {"version": "latest"},
            'version: got "latest"; allowed: a string matching ^\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?$',
        ),
        (
            {"revision": "1.30.3"},
            'revision: got "1.30.3"; allowed: a string matching ^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$',
        ),
    ],
)
def test_invalid_args_are_refused_before_anything_is_registered(
    args: dict[str, object], problem: str
) -> None:
    error, registered = record_expecting_error(lambda: IstioControlPlane("mesh", args))  # type: ignore[arg-type]
    assert isinstance(error, SpecError) and registered == []
    assert [p.describe() for p in error.problems] == [problem]
