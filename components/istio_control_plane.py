"""The Istio control plane: the `base` (CRDs), optional `cni` and revisioned `istiod` charts."""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart

from components.helm import ChartSource, deep_merge

REVISION_LABEL = "istio.io/rev"
"""Namespace label that selects the istiod revision whose injector adds sidecars."""

CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


class IstioControlPlaneArgs(TypedDict):
    chart_source: ChartSource
    """Repository (classic or OCI) and version of Istio's charts; the version is Istio's release."""
    revision: str
    """istiod revision, e.g. `1-30-3`. Workloads opt in with the label `istio.io/rev=<revision>`."""
    namespace: NotRequired[str]
    """Control plane namespace, also the mesh root namespace. Default `istio-system`."""
    create_namespace: NotRequired[bool]
    """Create the namespace (default), or use one that already exists."""
    image_hub: NotRequired[str | None]
    """Registry for istiod, sidecar and gateway images (`global.hub`), e.g. a private mirror."""
    image_tag: NotRequired[str | None]
    """Image tag (`global.tag`); the chart's release tag when unset."""
    cni_enabled: NotRequired[bool]
    """Install the `cni` chart and make istiod use it, so pods need no NET_ADMIN init container."""
    istiod_min_replicas: NotRequired[int]
    """istiod replicas, or the autoscaler's minimum when the maximum is higher. Default 1."""
    istiod_max_replicas: NotRequired[int]
    """The autoscaler's maximum; equal to the minimum means a fixed replica count."""
    istiod_resources: NotRequired[Mapping[str, Mapping[str, str]]]
    """istiod container resources (`requests`, `limits`)."""
    extension_providers: NotRequired[pulumi.Input[Sequence[pulumi.Input[Mapping[str, Any]]]]]
    """`meshConfig.extensionProviders`, e.g. the tracing provider wired to Jaeger."""
    istiod_secret_env: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Secret values istiod reads from its environment (e.g. a tracing backend token that an extension
    provider references with `envName`). Kept in a Secret in the control plane namespace."""
    harden: NotRequired[bool]
    """Close istiod's unauthenticated plaintext ports: the debug interface on 8080 and plaintext xDS on
    15010. `istioctl` debugging commands that read the debug interface then stop working."""
    extra_values: NotRequired[Mapping[str, Mapping[str, Any]]]
    """Escape hatch: values merged last into the chart named by the key (`base`, `istiod`, `cni`)."""


class IstioControlPlane(pulumi.ComponentResource):
    """Installs Istio's CRDs and a revisioned istiod from the official Helm charts."""

    namespace: pulumi.Output[str]
    """The control plane namespace."""
    root_namespace: pulumi.Output[str]
    """The mesh root namespace: a Telemetry here without a selector applies mesh-wide."""
    revision: pulumi.Output[str]
    """The istiod revision."""
    injection_labels: pulumi.Output[dict[str, str]]
    """Labels that put a namespace's pods in the mesh (`istio.io/rev=<revision>`)."""
    crds: pulumi.Resource
    """The `base` chart. Istio custom resources depend on it (CRDs first)."""
    istiod: pulumi.Resource
    """The `istiod` chart, awaited ready. Meshed workloads and Istio resources depend on it."""

    def __init__(
        self, name: str, args: IstioControlPlaneArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh-tracing:index:IstioControlPlane", name, {}, opts)
        source = args["chart_source"]
        revision = args["revision"]
        namespace_name = args.get("namespace", "istio-system")
        extra_values = args.get("extra_values", {})
        child = pulumi.ResourceOptions(parent=self)

        if args.get("create_namespace", True):
            namespace: k8s.core.v1.Namespace = k8s.core.v1.Namespace(
                f"{name}-namespace", metadata={"name": namespace_name}, opts=child
            )
        else:
            # Adopted: read so that a missing namespace fails the preview instead of the charts.
            namespace = k8s.core.v1.Namespace.get(f"{name}-namespace", namespace_name, opts=child)
        after_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        global_values = _global_values(namespace_name, args.get("image_hub"), args.get("image_tag"))
        self.crds = Chart(
            f"{name}-base",
            name="istio-base",
            namespace=namespace_name,
            values=deep_merge(_base_values(revision, global_values), extra_values.get("base", {})),
            **source.chart_args("base"),
            # Deleting Istio's CRDs deletes every Istio resource in the cluster; never let Pulumi do it.
            opts=pulumi.ResourceOptions.merge(
                after_namespace, pulumi.ResourceOptions(transforms=[retain_crds])
            ),
        )

        istiod_prerequisites: list[pulumi.Resource] = [self.crds]
        cni_enabled = args.get("cni_enabled", False)
        if cni_enabled:
            istiod_prerequisites.append(
                Chart(
                    f"{name}-cni",
                    name="istio-cni",
                    namespace=namespace_name,
                    values=deep_merge({"global": global_values}, extra_values.get("cni", {})),
                    **source.chart_args("cni"),
                    opts=after_namespace,
                )
            )

        secret_env = args.get("istiod_secret_env", {})
        env_from: list[dict[str, Any]] = []
        if secret_env:
            env_secret = k8s.core.v1.Secret(
                f"{name}-istiod-env",
                metadata={"name": "istiod-secret-env", "namespace": namespace_name},
                type="Opaque",
                string_data={key: pulumi.Output.secret(value) for key, value in secret_env.items()},
                opts=after_namespace,
            )
            istiod_prerequisites.append(env_secret)
            env_from = [
                {"name": key, "valueFrom": {"secretKeyRef": {"name": env_secret.metadata.name, "key": key}}}
                for key in sorted(secret_env)
            ]

        istiod_values = _istiod_values(
            revision=revision,
            global_values=global_values,
            cni_enabled=cni_enabled,
            min_replicas=args.get("istiod_min_replicas", 1),
            max_replicas=args.get("istiod_max_replicas", args.get("istiod_min_replicas", 1)),
            resources=args.get("istiod_resources"),
            extension_providers=args.get("extension_providers", []),
        )
        if env_from:
            istiod_values["envVarFrom"] = env_from
        if args.get("harden", False):
            # Istio's security best practices: ENABLE_DEBUG_ON_HTTP=false and --grpcAddr="".
            istiod_values["env"] = {"ENABLE_DEBUG_ON_HTTP": "false"}
            istiod_values["extraContainerArgs"] = ["--grpcAddr="]
        self.istiod = Chart(
            f"{name}-istiod",
            name="istiod",
            namespace=namespace_name,
            values=deep_merge(istiod_values, extra_values.get("istiod", {})),
            **source.chart_args("istiod"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *istiod_prerequisites]),
        )

        self.namespace = namespace.metadata.name
        self.root_namespace = self.namespace
        self.revision = pulumi.Output.from_input(revision)
        self.injection_labels = self.revision.apply(lambda rev: {REVISION_LABEL: rev})
        self.register_outputs(
            {
                "namespace": self.namespace,
                "root_namespace": self.root_namespace,
                "revision": self.revision,
                "injection_labels": self.injection_labels,
            }
        )


def retain_crds(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Resource transform: keep CustomResourceDefinitions in the cluster when Pulumi deletes them."""
    if args.type_ != CRD_TYPE:
        return None
    return pulumi.ResourceTransformResult(
        props=args.props,
        opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )


def _global_values(namespace: str, hub: str | None, tag: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"istioNamespace": namespace}
    if hub:
        values["hub"] = hub
    if tag:
        values["tag"] = tag
    return values


# Pulumi renders charts like `helm template` (never an upgrade), so istiod would flip the webhooks'
# failurePolicy from Ignore to Fail after every `pulumi up` and Pulumi would flip it back. Pinning it
# to Fail on both charts ends the perpetual diff (istio/istio#59488).
_STABLE_WEBHOOK = {"validationFailurePolicy": "Fail"}


def _base_values(revision: str, global_values: dict[str, Any]) -> dict[str, Any]:
    return {
        "global": global_values,
        # The default validator points at our revision, so every Istio resource is validated.
        "defaultRevision": revision,
        "base": _STABLE_WEBHOOK,
    }


def _istiod_values(
    *,
    revision: str,
    global_values: dict[str, Any],
    cni_enabled: bool,
    min_replicas: int,
    max_replicas: int,
    resources: Mapping[str, Any] | None,
    extension_providers: pulumi.Input[Sequence[pulumi.Input[Mapping[str, Any]]]],
) -> dict[str, Any]:
    autoscale = max_replicas > min_replicas
    values: dict[str, Any] = {
        "revision": revision,
        "global": {**global_values, "defaultPodDisruptionBudget": {"enabled": min_replicas > 1}},
        "base": _STABLE_WEBHOOK,
        "autoscaleEnabled": autoscale,
        "autoscaleMin": min_replicas,
        "autoscaleMax": max_replicas,
        "replicaCount": min_replicas,
        "pdb": {"minAvailable": 1},
        "seccompProfile": {"type": "RuntimeDefault"},
        "cni": {"enabled": cni_enabled},
        # Sampling is not set here: it lives in the Telemetry resource, which changes without restarts.
        "meshConfig": {"enableTracing": True, "extensionProviders": extension_providers},
    }
    if resources:
        values["resources"] = dict(resources)
    return values
