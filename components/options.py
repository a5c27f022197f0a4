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
