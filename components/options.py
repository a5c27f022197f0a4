"""Choices shared by the components' args and the stack settings.

They live here, not in a component file, because several components and the settings model use them.
"""

from enum import StrEnum


class Environment(StrEnum):
    """The environment preset a stack starts from."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class ExposureMode(StrEnum):
    """How the ingress gateway's Service is reached."""

    CLUSTER = "cluster"
    """ClusterIP only; reach it with `kubectl port-forward`."""
    NODEPORT = "nodeport"
    """A NodePort, for kind or minikube."""
    INTERNAL_LB = "internal"
    """A load balancer kept inside the cloud network."""
    PUBLIC_LB = "public"
    """A public load balancer."""


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


class Cloud(StrEnum):
    """The cloud whose load-balancer annotations make an internal load balancer."""

    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"


class JaegerUiAccess(StrEnum):
    NONE = "none"
    """Reach the UI with `kubectl port-forward`."""
    GATEWAY = "gateway"
    """A host on the ingress gateway, with TLS and a source-IP allowlist."""
