"""The gateway's certificate on its own: issuers, the Secret it writes, and what it refuses."""

from typing import Any

import pytest

from mesh_tracing import GatewayCertificate, GatewayCertificateArgs, SpecError, TlsMode
from mesh_tracing.tooling.recorder import record, record_expecting_error

CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"


def test_an_existing_secret_is_served_as_is_with_nothing_issued() -> None:
    def program() -> None:
        certificate = GatewayCertificate(
            "tls", GatewayCertificateArgs(mode=TlsMode.EXISTING, existing_secret_name="wildcard-tls")
        )
        import pulumi

        pulumi.export("secret", certificate.secret_name)

    run = record(program)
    assert run.output("secret") == "wildcard-tls"
    assert not run.of_type(CERTIFICATE) and not run.of_type("kubernetes-cert-manager:index:CertManager")


def test_acme_issues_for_the_given_hosts_with_an_inert_solver_class() -> None:
    spec = GatewayCertificateArgs(
        mode=TlsMode.ACME_STAGING,
        acme_email="ops@example.com",
        hosts=["shop.example.com"],
        namespace="edge",
        secret_name="shop-tls",
        cert_manager={"install": False},  # type: ignore[arg-type]
    )
    run = record(lambda: GatewayCertificate("tls", spec))
    certificate = run.named("tls-certificate")
    assert certificate.at("metadata", "namespace") == "edge"
    assert certificate.at("spec", "dnsNames") == ["shop.example.com"]
    assert certificate.at("spec", "secretName") == "shop-tls"
    issuer = run.named("tls-acme-staging").at("spec", "acme")
    assert issuer["server"] == "https://acme-staging-v02.api.letsencrypt.org/directory"
    assert issuer["solvers"][0]["http01"]["ingress"]["ingressClassName"] == "mesh-tracing-acme-solver"
    assert not run.of_type("kubernetes-cert-manager:index:CertManager"), "install: false"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            {"mode": TlsMode.EXISTING},
            "existing_secret_name: got (not set); allowed: the TLS Secret in the gateway namespace, required with mode existing",
        ),
        ({"mode": TlsMode.SELF_SIGNED}, "hosts: got []; allowed: at least one host on the certificate"),
        ({"mode": TlsMode.NONE}, 'mode: got "none"; allowed: a mode with a certificate'),
    ],
)
def test_invalid_args_are_refused_before_anything_is_registered(args: dict[str, Any], problem: str) -> None:
    error, registered = record_expecting_error(lambda: GatewayCertificate("tls", args))  # type: ignore[arg-type]
    assert isinstance(error, SpecError) and registered == []
    assert [p.describe() for p in error.problems] == [problem]
