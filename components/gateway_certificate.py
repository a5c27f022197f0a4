"""The ingress gateway's certificate, issued by cert-manager: self-signed CA for dev, Let's Encrypt
(ACME HTTP-01) for staging and prod. The Secret it writes is the Gateway server's `credentialName`.
"""

import zlib
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import k8s as kube
from components.options import TlsMode

ACME_SERVERS = {
    TlsMode.ACME: "https://acme-v02.api.letsencrypt.org/directory",
    TlsMode.ACME_STAGING: "https://acme-staging-v02.api.letsencrypt.org/directory",
}
SOLVER_PORT = 8089
"""Port of cert-manager's HTTP-01 solver pods."""
INERT_INGRESS_CLASS = "mesh-tracing-acme-solver"
"""An IngressClass no controller serves: cert-manager's solver Ingress stays inert, and the gateway routes
challenges itself (Istio's own Ingress support conflicts with a Gateway for the same host, istio#27643)."""


def solver_pod_labels(host: str) -> dict[str, str]:
    """Labels cert-manager puts on the HTTP-01 solver pod for `host` (the domain label is adler32)."""
    return {
        "acme.cert-manager.io/http01-solver": "true",
        "acme.cert-manager.io/http-domain": str(zlib.adler32(host.encode())),
    }


class GatewayCertificateArgs(TypedDict):
    mode: TlsMode
    """`selfsigned`, `acme-staging`, `acme` or `existing`."""
    namespace: pulumi.Input[str]
    """The gateway's namespace: the Secret must live next to the gateway pods."""
    hosts: Sequence[str]
    """DNS names on the certificate."""
    secret_name: str
    """Secret to write (or, for `existing`, to use)."""
    acme_email: NotRequired[str | None]
    """Contact for the ACME account (expiry notices)."""
    cert_manager: NotRequired[pulumi.Resource | None]
    """The cert-manager installation to wait for; None when the cluster already runs it."""


class GatewayCertificate(pulumi.ComponentResource):
    """Issuers (namespaced) and one Certificate whose Secret the gateway serves."""

    secret_name: pulumi.Output[str]
    """The TLS Secret: the Gateway server's `credentialName`."""
    acme_http01: bool
    """Whether ACME HTTP-01 challenges must be routed through the gateway on port 80."""

    def __init__(
        self, name: str, args: GatewayCertificateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh-tracing:index:GatewayCertificate", name, {}, opts)
        self._name = name
        self._namespace = args["namespace"]
        cert_manager = args.get("cert_manager")
        self._after_cert_manager = pulumi.ResourceOptions(
            parent=self, depends_on=[cert_manager] if cert_manager is not None else []
        )
        mode = args["mode"]
        self.acme_http01 = mode in ACME_SERVERS
        if mode is TlsMode.EXISTING:
            self.secret_name = pulumi.Output.from_input(args["secret_name"])
        else:
            issuer = (
                self._ca_issuer()
                if mode is TlsMode.SELF_SIGNED
                else self._acme_issuer(mode, args.get("acme_email"))
            )
            certificate = self._custom(
                "Certificate",
                f"{name}-certificate",
                args["secret_name"],
                {
                    "secretName": args["secret_name"],
                    "dnsNames": list(args["hosts"]),
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
