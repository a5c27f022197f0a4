"""The ingress gateway's certificate, issued by cert-manager: self-signed CA for dev, Let's Encrypt
(ACME HTTP-01) for staging and prod. The Secret it writes is the Gateway server's `credentialName`.
"""

import zlib
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_kubernetes_cert_manager as cert_manager

from mesh_tracing import k8s as kube
from mesh_tracing.fields import ChartRepository, DnsLabel, Email
from mesh_tracing.spec import MISSING, Problem, Spec, SpecError, wired

TYPE = "mesh-tracing:index:GatewayCertificate"
SOLVER_PORT = 8089
"""Port of cert-manager's HTTP-01 solver pods."""
INERT_INGRESS_CLASS = "mesh-tracing-acme-solver"
"""An IngressClass no controller serves: cert-manager's solver Ingress stays inert, and the gateway routes
challenges itself (Istio's own Ingress support conflicts with a Gateway for the same host, istio#27643)."""


class TlsMode(StrEnum):
    """Where the ingress gateway's certificate comes from."""

    NONE = "none"
    """Plain HTTP on port 80."""
    SELF_SIGNED = "selfsigned"
    """cert-manager: a self-signed root, then a CA issuer that signs the gateway certificate (dev)."""
    ACME_STAGING = "acme-staging"
    """cert-manager with Let's Encrypt's staging endpoint (untrusted certificates, generous limits)."""
    ACME = "acme"
    """cert-manager with Let's Encrypt's production endpoint."""
    EXISTING = "existing"
    """A TLS secret the cluster already has in the gateway namespace."""

    @property
    def uses_cert_manager(self) -> bool:
        return self in (TlsMode.SELF_SIGNED, TlsMode.ACME_STAGING, TlsMode.ACME)

    @property
    def acme(self) -> bool:
        return self in ACME_SERVERS


ACME_SERVERS = {
    TlsMode.ACME: "https://acme-v02.api.letsencrypt.org/directory",
    TlsMode.ACME_STAGING: "https://acme-staging-v02.api.letsencrypt.org/directory",
}


def solver_pod_labels(host: str) -> dict[str, str]:
    """Labels cert-manager puts on the HTTP-01 solver pod for `host` (the domain label is adler32)."""
    return {
        "acme.cert-manager.io/http01-solver": "true",
        "acme.cert-manager.io/http-domain": str(zlib.adler32(host.encode())),
    }


class CertManagerInstall(Spec):
    """cert-manager itself, from its official chart (CRDs included)."""

    install: bool = True
    """Install cert-manager; false when the cluster already runs it."""
    version: str = "v1.19.4"
    """The chart's version (cert-manager's release)."""
    namespace: DnsLabel = "cert-manager"
    """Namespace of cert-manager, created."""
    chart_repository: ChartRepository = "https://charts.jetstack.io"
    """Helm repository of the chart (a mirror for air-gapped clusters)."""

    def deploy(self, name: str, opts: pulumi.ResourceOptions) -> cert_manager.CertManager:
        return cert_manager.CertManager(
            name,
            helm_options=cert_manager.ReleaseArgs(
                namespace=self.namespace,
                create_namespace=True,
                version=self.version,
                repository_opts=cert_manager.RepositoryOptsArgs(repo=self.chart_repository),
                # `installCRDs` is deprecated; `crds.keep` keeps the CRDs (and every certificate) when the
                # release goes.
                values={"crds": {"enabled": True, "keep": True}},
            ),
            opts=opts,
        )


class GatewayCertificateArgs(Spec):
    """TLS for the ingress gateway: where its certificate comes from."""

    mode: TlsMode = TlsMode.NONE
    """`none`, `selfsigned`, `acme-staging`, `acme` or `existing`."""
    acme_email: Email | None = None
    """Let's Encrypt account contact (expiry notices); required for the acme modes."""
    existing_secret_name: DnsLabel | None = None
    """For `existing`: a TLS Secret in the gateway namespace."""
    cert_manager: CertManagerInstall = CertManagerInstall()
    """cert-manager for the modes that use it. On its own, GatewayCertificate installs it (`install`);
    TracedMesh installs it once per cluster instead."""
    namespace: pulumi.Input[str] = wired("istio-ingress", "IngressGateway, its namespace")
    """The gateway's namespace: the Secret must live next to the gateway pods."""
    hosts: list[str] = wired([], "IngressGateway, the hosts it serves")
    """DNS names on the certificate."""
    secret_name: str | None = wired(None, "IngressGateway, `<gateway name>-tls`")
    """The Secret cert-manager writes; `<component name>-tls` when unset."""

    def _rules(self) -> list[Problem]:
        if self.mode.acme and self.acme_email is None:
            return [
                Problem(
                    ("acme_email",),
                    MISSING,
                    f"the Let's Encrypt account email, required with mode {self.mode.value}",
                )
            ]
        if self.mode is TlsMode.EXISTING and self.existing_secret_name is None:
            return [
                Problem(
                    ("existing_secret_name",),
                    MISSING,
                    "the TLS Secret in the gateway namespace, required with mode existing",
                )
            ]
        return []


class GatewayCertificate(pulumi.ComponentResource):
    """Issuers (namespaced) and one Certificate whose Secret the gateway serves."""

    secret_name: pulumi.Output[str]
    """The TLS Secret: the Gateway server's `credentialName`."""
    acme_http01: bool
    """Whether ACME HTTP-01 challenges must be routed through the gateway on port 80."""

    def __init__(
        self, name: str, args: GatewayCertificateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = GatewayCertificateArgs.parse(args)
        if spec.mode is TlsMode.NONE:
            raise SpecError(
                type(spec).__name__, [Problem(("mode",), spec.mode.value, "a mode with a certificate")]
            )
        if spec.mode.uses_cert_manager and not spec.hosts:
            raise SpecError(
                type(spec).__name__, [Problem(("hosts",), [], "at least one host on the certificate")]
            )
        super().__init__(TYPE, name, {}, opts)
        self._name = name
        self._namespace = spec.namespace
        mode = spec.mode
        self.acme_http01 = mode.acme
        self._after_cert_manager = kube.gated(self, opts)
        if mode.uses_cert_manager and spec.cert_manager.install:
            installed = spec.cert_manager.deploy(f"{name}-cert-manager", pulumi.ResourceOptions(parent=self))
            self._after_cert_manager = pulumi.ResourceOptions.merge(
                self._after_cert_manager, pulumi.ResourceOptions(depends_on=[installed])
            )
        if mode is TlsMode.EXISTING:
            self.secret_name = pulumi.Output.from_input(spec.existing_secret_name or "")
        else:
            secret_name = spec.secret_name or f"{name}-tls"
            issuer = (
                self._ca_issuer() if mode is TlsMode.SELF_SIGNED else self._acme_issuer(mode, spec.acme_email)
            )
            certificate = self._custom(
                "Certificate",
                f"{name}-certificate",
                secret_name,
                {
                    "secretName": secret_name,
                    "dnsNames": list(spec.hosts),
                    "issuerRef": _issuer_ref(issuer),
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                },
                depends_on=[issuer],
            )
            # Certificate and Secret share the name; reading it from the Certificate orders users after it.
            self.secret_name = kube.name_of(certificate)
        self.register_outputs({"secret_name": self.secret_name})

    def _custom(
        self,
        kind: str,
        resource_name: str,
        name: str,
        spec: dict[str, Any],
        depends_on: list[pulumi.Resource] | None = None,
    ) -> k8s.apiextensions.CustomResource:
        return kube.custom_resource(
            resource_name,
            kube.CERT_MANAGER_API,
            kind,
            name,
            self._namespace,
            spec,
            pulumi.ResourceOptions.merge(
                self._after_cert_manager, pulumi.ResourceOptions(depends_on=depends_on or [])
            ),
        )

    def _ca_issuer(self) -> k8s.apiextensions.CustomResource:
        """A self-signed root CA, then an Issuer that signs with it: browsers can trust one root for dev."""
        root = self._custom(
            "Issuer", f"{self._name}-selfsigned", f"{self._name}-selfsigned", {"selfSigned": {}}
        )
        ca_secret = f"{self._name}-root-ca"
        ca = self._custom(
            "Certificate",
            f"{self._name}-root-ca",
            ca_secret,
            {
                "isCA": True,
                "commonName": f"{self._name} development CA",
                # An empty subject makes an empty issuer DN on every certificate the CA signs.
                "subject": {"organizations": ["mesh-tracing"]},
                "secretName": ca_secret,
                "duration": "8760h",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": _issuer_ref(root),
            },
            depends_on=[root],
        )
        return self._custom(
            "Issuer", f"{self._name}-ca", f"{self._name}-ca", {"ca": {"secretName": ca_secret}}, [ca]
        )

    def _acme_issuer(self, mode: TlsMode, email: str | None) -> k8s.apiextensions.CustomResource:
        issuer = f"{self._name}-{mode.value}"
        return self._custom(
            "Issuer",
            issuer,
            issuer,
            {
                "acme": {
                    "server": ACME_SERVERS[mode],
                    "email": email,
                    "privateKeySecretRef": {"name": f"{issuer}-account"},
                    "solvers": [
                        {
                            "http01": {
                                "ingress": {
                                    "ingressClassName": INERT_INGRESS_CLASS,
                                    "serviceType": "ClusterIP",
                                }
                            }
                        }
                    ],
                }
            },
        )


def _issuer_ref(issuer: k8s.apiextensions.CustomResource) -> pulumi.Output[dict[str, str]]:
    return kube.name_of(issuer).apply(
        lambda name: {"name": name, "kind": "Issuer", "group": "cert-manager.io"}
    )
