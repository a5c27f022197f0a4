"""A steady, low rate of requests so that traces appear right after `pulumi up`.

Through the gateway, the generator is an outside client (no sidecar) and traces start at the edge; it
reaches the gateway's Service by resolving the app host to it, so TLS, SNI and Host all match the real
path. Without a usable gateway host it calls the product page inside the mesh instead.
"""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict
from urllib.parse import urlparse

import pulumi
import pulumi_kubernetes as k8s

from components import k8s as kube

DEFAULT_IMAGE = "docker.io/fortio/fortio:1.63.2"
LOAD_GENERATOR = "loadgen"
"""The conventional component name, which is also its ServiceAccount's (its identity in the mesh)."""
IMAGE_USER = 1000
RESOURCES = {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}


class LoadGeneratorArgs(TypedDict):
    namespace: pulumi.Input[str]
    target_url: pulumi.Input[str]
    """What to request, e.g. `https://bookinfo.example.com/productpage`."""
    requests_per_second: float
    mesh_ready: Sequence[pulumi.Resource]
    """A ready istiod: in the mesh, the generator's pod needs its sidecar from the start."""
    connections: NotRequired[int]
    gateway_address: NotRequired[pulumi.Input[str] | None]
    """IP the target URL's host resolves to (the gateway Service). When None, the generator is meshed and
    the URL is called as is."""
    image: NotRequired[str]
    """A pinned fortio image."""


class LoadGenerator(pulumi.ComponentResource):
    target_url: pulumi.Output[str]
    """The URL requested."""

    def __init__(
        self, name: str, args: LoadGeneratorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh-tracing:index:LoadGenerator", name, {}, opts)
        if args["requests_per_second"] <= 0:
            raise ValueError("the load generator needs a positive request rate")
        self.target_url = pulumi.Output.from_input(args["target_url"])
        gateway_address = args.get("gateway_address")
        command = [
            "fortio",
            "load",
            "-t",
            "0",  # run until stopped
            "-qps",
            str(args["requests_per_second"]),
            "-c",
            str(args.get("connections", 1)),
            "-allow-initial-errors",  # the gateway and apps may still be starting
            "-k",  # a synthetic client: dev and staging certificates are not publicly trusted
            self.target_url,
        ]
        labels = kube.labels(name, "load-generator", kube.image_tag(args.get("image", DEFAULT_IMAGE)))
        # Its own identity: in the mesh, a default-deny namespace allows it by this name.
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": name, "namespace": args["namespace"], "labels": labels},
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
                    "image": args.get("image", DEFAULT_IMAGE),
                    "command": command,
                    "resources": kube.resource_requirements(RESOURCES),
                    "securityContext": kube.container_security_context(),
                }
            ],
        }
        if gateway_address is not None:
            hostnames = self.target_url.apply(lambda url: [urlparse(url).hostname])
            pod_spec["hostAliases"] = [{"ip": gateway_address, "hostnames": hostnames}]
        spec: dict[str, Any] = {
            "replicas": 1,
            "selector": {"matchLabels": kube.selector_labels(name, "load-generator")},
            "template": {
                # Through the gateway it is an outside client; in the mesh it gets a sidecar from the namespace.
                "metadata": {
                    "labels": {**labels, **(kube.NO_SIDECAR if gateway_address is not None else {})}
                },
                "spec": pod_spec,
            },
        }
        metadata: Mapping[str, Any] = {
            "name": name,
            "namespace": args["namespace"],
            "labels": labels,
            "annotations": {
                kube.NO_PROBES_REASON: "fortio load serves nothing to probe; a crash restarts it"
            },
        }
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata,
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args["mesh_ready"])),
        )
        self.register_outputs({"target_url": self.target_url})
