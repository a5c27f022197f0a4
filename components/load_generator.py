"""A steady, low rate of requests so that traces appear right after `pulumi up`.

Through the gateway, the generator is an outside client (no sidecar) and traces start at the edge; it
reaches the gateway's Service by resolving the app host to it, so TLS, SNI and Host all match the real
path. Without a usable gateway host it calls the product page inside the mesh instead.
"""

from typing import Any
from urllib.parse import urlparse

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mesh_tracing import k8s as kube
from mesh_tracing.fields import PinnedImage
from mesh_tracing.spec import MISSING, Problem, Spec, SpecError, wired

TYPE = "mesh-tracing:index:LoadGenerator"
DEFAULT_IMAGE = "docker.io/fortio/fortio:1.63.2"
IMAGE_USER = 1000
RESOURCES = kube.resources("20m", "32Mi", "200m", "64Mi")


class LoadGeneratorArgs(Spec):
    """A steady, low rate of requests to one URL."""

    enabled: bool = False
    """Whether TracedMesh runs it, against Bookinfo's product page."""
    requests_per_second: float = Field(1.0, gt=0, le=100)
    """Request rate."""
    connections: int = Field(1, ge=1, le=16)
    """Parallel connections."""
    image: PinnedImage = DEFAULT_IMAGE
    """A pinned fortio image."""
    namespace: pulumi.Input[str] = wired("bookinfo", "TracedMesh, Bookinfo's namespace")
    """Namespace to run in."""
    target_url: pulumi.Input[str] | None = wired(None, "TracedMesh, the product page's URL")
    """What to request, e.g. `https://bookinfo.example.com/productpage`. Required."""
    sidecar_revision: str | None = wired(None, "TracedMesh, the revision its tag points at")
    """The istiod revision behind `revision` (a tag), recorded on the pod template: when the tag moves, the
    pods restart and get the new revision's sidecars."""
    gateway_address: pulumi.Input[str] | None = wired(None, "TracedMesh, the gateway's cluster IP")
    """IP the target URL's host resolves to (the gateway Service). When unset, the generator is meshed and
    calls the URL as is."""


class LoadGenerator(pulumi.ComponentResource):
    """fortio, requesting `target_url` until stopped. Pass a ready istiod in `depends_on` when it runs in the
    mesh: its pod needs its sidecar from the start."""

    target_url: pulumi.Output[str]
    """The URL requested."""

    def __init__(
        self, name: str, args: LoadGeneratorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = LoadGeneratorArgs.parse(args)
        if spec.target_url is None:
            raise SpecError(type(spec).__name__, [Problem(("target_url",), MISSING, "the URL to request")])
        super().__init__(TYPE, name, {}, opts)
        self.target_url = pulumi.Output.from_input(spec.target_url)
        command = [
            "fortio",
            "load",
            "-t",
            "0",  # run until stopped
            "-qps",
            str(spec.requests_per_second),
            "-c",
            str(spec.connections),
            "-allow-initial-errors",  # the gateway and apps may still be starting
            "-k",  # a synthetic client: dev and staging certificates are not publicly trusted
            self.target_url,
        ]
        labels = kube.labels(name, "load-generator", kube.image_tag(spec.image))
        # Its own identity: in the mesh, a default-deny namespace allows it by this name.
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": name, "namespace": spec.namespace, "labels": labels},
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        pod_spec: dict[str, Any] = {
            "serviceAccountName": account.metadata.name,
            "automountServiceAccountToken": False,
            "securityContext": kube.pod_security_context(IMAGE_USER),
            "containers": [
                {
                    "name": "fortio",
                    "image": spec.image,
                    "command": command,
                    "resources": RESOURCES.as_kubernetes(),
                    "securityContext": kube.container_security_context(),
                }
            ],
        }
        through_gateway = spec.gateway_address is not None
        if through_gateway:
            hostnames = self.target_url.apply(lambda url: [urlparse(url).hostname])
            pod_spec["hostAliases"] = [{"ip": spec.gateway_address, "hostnames": hostnames}]
        deployment: dict[str, Any] = {
            "replicas": 1,
            "selector": {"matchLabels": kube.selector_labels(name, "load-generator")},
            "template": {
                # Through the gateway it is an outside client; in the mesh it gets a sidecar from the namespace.
                "metadata": {
                    "labels": {**labels, **(kube.NO_SIDECAR if through_gateway else {})},
                    "annotations": {} if through_gateway else kube.sidecar_revision(spec.sidecar_revision),
                },
                "spec": pod_spec,
            },
        }
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": spec.namespace,
            "labels": labels,
            "annotations": {
                kube.NO_PROBES_REASON: "fortio load serves nothing to probe; a crash restarts it"
            },
        }
        k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=metadata, spec=deployment, opts=kube.gated(self, opts)
        )
        self.register_outputs({"target_url": self.target_url})
