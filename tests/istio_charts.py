"""The value paths Istio 1.30.3's charts read, for the keys this project sets: a key no template reads is
silently ignored by Helm, and the feature it was meant for does nothing.

Read from istio/istio @ 1.30.3, each chart's `templates/` and `files/` (`.Values.<path>` references):
`manifests/charts/base`, `istio-control/istio-discovery` (istiod), `gateway` and `istio-cni` (cni). A path
ending in `.*` is handed to the manifests whole (`toYaml`), so any key below it is read. When a component
starts setting a new key, check it in those templates and add it here.
"""

from collections.abc import Iterator, Mapping
from typing import Any

READS: dict[str, set[str]] = {
    "base": {
        "base.enableCRDTemplates",
        "base.excludedCRDs",
        "base.validationCABundle",
        "base.validationFailurePolicy",
        "base.validationURL",
        "defaultRevision",
        "experimental.stableValidationPolicy",
        "global.enableReaderRBAC",
        "global.imagePullSecrets",
        "global.istioNamespace",
        "global.resourceScope",
    },
    "istiod": {
        "autoscaleEnabled",
        "autoscaleMax",
        "autoscaleMin",
        "base.validationFailurePolicy",
        "env.*",
        "envVarFrom",
        "extraContainerArgs",
        "global.defaultPodDisruptionBudget.enabled",
        "global.hub",
        "global.istioNamespace",
        "global.logAsJson",
        "global.tag",
        "meshConfig.*",
        "pdb.maxUnavailable",
        "pdb.minAvailable",
        "pilot.cni.enabled",
        "pilot.cni.provider",
        "replicaCount",
        "resources.*",
        "revision",
        "seccompProfile.*",
    },
    "gateway": {
        "autoscaling.enabled",
        "autoscaling.maxReplicas",
        "autoscaling.minReplicas",
        "labels.*",
        "podDisruptionBudget.*",
        "replicaCount",
        "resources.*",
        "revision",
        "service.annotations.*",
        "service.externalTrafficPolicy",
        "service.loadBalancerSourceRanges",
        "service.ports",
        "service.type",
        "serviceAccount.name",
    },
    "cni": {"global.hub", "global.tag", "global.logAsJson", "resources.*"},
}


def leaf_paths(values: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of the leaves (lists and empty maps included) of a values tree."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from leaf_paths(value, f"{path}.")
        else:
            yield path


def unread(chart: str, values: Mapping[str, Any]) -> list[str]:
    """The value paths `chart`'s templates do not read."""
    reads = READS[chart]
    subtrees = [entry.removesuffix("*") for entry in reads if entry.endswith(".*")]
    return [
        path
        for path in leaf_paths(values)
        if path not in reads and not any(path.startswith(root) or f"{path}." == root for root in subtrees)
    ]
