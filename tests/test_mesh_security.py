"""Mesh security: mTLS per stack, a hardened control plane, and Bookinfo's default-deny policies."""

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from mesh_tracing import MeshSecurity, MeshSecurityArgs, MtlsMode, SpecError
from mesh_tracing.settings import SettingsError
from mesh_tracing.tooling.recorder import Run, record, record_expecting_error
from tests.program import UIS_OFF_THE_GATEWAY, run_program, run_program_expecting_error

POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"


@pytest.mark.parametrize(
    ("stack", "mode"), [("dev", "PERMISSIVE"), ("staging", "STRICT"), ("prod", "STRICT")]
)
def test_a_mesh_wide_peer_authentication_sets_mtls_per_stack(
    stack: str, mode: str, rendered: Callable[[str], Run]
) -> None:
    run = rendered(stack)
    peer = run.named("security-peer-authentication")
    assert peer.at("metadata") == {"name": "default", "namespace": "istio-system"}
    assert peer.at("spec") == {"mtls": {"mode": mode}}
    assert run.waits_for(peer, run.named("istio-istiod"))
    assert run.output("mtlsMode") == mode


def test_prod_refuses_permissive_mtls() -> None:
    error, registered = run_program_expecting_error("prod", overrides={"istio.mtlsMode": "PERMISSIVE"})
    assert isinstance(error, SettingsError) and registered == []
    assert error.paths == ["istio.mtlsMode"]


def test_staging_and_prod_close_istiods_plaintext_ports(rendered: Callable[[str], Run]) -> None:
    for stack in ("staging", "prod"):
        values = rendered(stack).named("istio-istiod").at("values")
        assert values["env"] == {"ENABLE_DEBUG_ON_HTTP": "false"}, stack
        assert values["extraContainerArgs"] == ["--grpcAddr="], stack
    dev = rendered("dev").named("istio-istiod").at("values")
    assert "env" not in dev and "extraContainerArgs" not in dev


def policies(run: Run) -> dict[str, dict[str, Any]]:
    return {
        r.at("metadata", "name"): r.at("spec") for r in run.of_type(POLICY) if r.name.startswith("bookinfo-")
    }


def principal_of(run: Run, account: str, namespace: str = "bookinfo") -> str:
    sa = run.named(account)
    assert sa.at("metadata", "namespace") == namespace
    return f"cluster.local/ns/{namespace}/sa/{sa.at('metadata', 'name')}"


def test_staging_denies_all_bookinfo_traffic_but_its_own_calls(rendered: Callable[[str], Run]) -> None:
    run = rendered("staging")
    found = policies(run)
    assert found["deny-all"] == {}
    gateway_account = run.named("ingress-chart").at("values", "serviceAccount", "name")
    expected_callers = {
        "productpage": [f"cluster.local/ns/istio-ingress/sa/{gateway_account}"],
        "details": [principal_of(run, "bookinfo-productpage-sa")],
        "reviews": [principal_of(run, "bookinfo-productpage-sa")],
        "ratings": [principal_of(run, "bookinfo-reviews-sa")],
    }
    for app, callers in expected_callers.items():
        spec = found[f"allow-{app}"]
        assert spec["selector"] == {"matchLabels": {"app": app}}
        assert spec["action"] == "ALLOW"
        (rule,) = spec["rules"]
        assert rule["from"] == [{"source": {"principals": callers}}], app
        assert rule["to"] == [{"operation": {"ports": ["9080"]}}]


def test_dev_leaves_bookinfo_open() -> None:
    assert policies(run_program("dev")) == {}


def test_a_load_generator_inside_the_mesh_is_allowed_by_its_own_identity() -> None:
    run = run_program(
        "dev",
        overrides={
            "bookinfo.defaultDeny": True,
            "gateway.hosts": ["*"],
            "gateway.tls.mode": "none",
            **UIS_OFF_THE_GATEWAY,
        },
    )
    (rule,) = policies(run)["allow-productpage"]["rules"]
    callers = rule["from"][0]["source"]["principals"]
    assert principal_of(run, "loadgen-sa") in callers
    assert run.named("loadgen-deployment").at("spec", "template", "spec", "serviceAccountName") == "loadgen"


def test_alone_it_sets_the_mode_in_the_given_root_namespace_after_what_it_depends_on() -> None:
    def program() -> None:
        istiod = pulumi.CustomResource("test:index:Istiod", "istiod")
        MeshSecurity(
            "mtls",
            MeshSecurityArgs(mtls_mode=MtlsMode.PERMISSIVE, root_namespace="mesh-root"),
            pulumi.ResourceOptions(depends_on=[istiod]),
        )

    run = record(program)
    peer = run.named("mtls-peer-authentication")
    assert peer.at("metadata") == {"name": "default", "namespace": "mesh-root"}
    assert peer.at("spec") == {"mtls": {"mode": "PERMISSIVE"}}
    assert run.waits_for(peer, run.named("istiod"))


def test_an_unknown_mode_is_refused_before_anything_is_registered() -> None:
    error, registered = record_expecting_error(lambda: MeshSecurity("mtls", {"mtls_mode": "DISABLE"}))  # type: ignore[arg-type]
    assert isinstance(error, SpecError) and registered == []
    assert [p.describe() for p in error.problems] == [
        "mtls_mode: got \"DISABLE\"; allowed: 'STRICT' or 'PERMISSIVE'"
    ]
