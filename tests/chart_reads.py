"""The value paths each chart this project installs reads, for the keys this project sets: a key no template
reads is silently ignored by Helm, and the feature it was meant for does nothing.

A path ending in `.*` is handed to the manifests whole (`toYaml`, `tpl`, or ranged over as a map), so any
key below it is read. When a component starts setting a new key, check it in the chart's templates and add
it here. Where each list was read:
- Istio 1.30.3 (`base`, `istiod`, `gateway`, `cni`): istio/istio @ 1.30.3, each chart's `templates/` and
  `files/` (`.Values.<path>` references) in `manifests/charts/base`, `istio-control/istio-discovery`,
  `gateway` and `istio-cni`.
- `prometheus` 29.27.0: prometheus-community/helm-charts @ prometheus-29.27.0, `charts/prometheus/templates/`
  (`server.podDisruptionBudget.*` through `omit` and `hasKey` in `pdb.yaml`; `scrapeConfigs` ranged over in
  `cm.yaml`, each job whole but `enabled` and `job_name`); the four sub-charts' `enabled` are the
  dependencies' `condition`s in its `Chart.yaml`.
- `grafana` 12.11.1: grafana-community/helm-charts @ grafana-12.11.1, `charts/grafana/templates/`
  (`grafana.ini` rendered section by section in `_config.tpl`; `dashboardsConfigMaps` ranged over in
  `_pod.tpl`).
- `kiali-server` 2.29.0: kiali/helm-charts @ v2.29.0, `kiali-server/templates/`. Its `configmap.yaml` writes
  the values (but `kiali_route_url`) into Kiali's own config, so `auth`, `external_services` and
  `login_token` are Kiali settings, as kiali/kiali-operator @ v2.29.0 `crd-docs/cr/kiali.io_v1alpha1_kiali.yaml`
  lists them (the deprecated ones, such as `istio_namespace`, are ignored by Kiali 2.29 and not listed).
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
        "revisionTags",
        "seccompProfile.*",
    },
    "gateway": {
        "autoscaling.enabled",
        "autoscaling.maxReplicas",
        "autoscaling.minReplicas",
        "labels.*",
        "podAnnotations.*",
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
    "prometheus": {
        "alertmanager.enabled",
        "kube-state-metrics.enabled",
        "prometheus-node-exporter.enabled",
        "prometheus-pushgateway.enabled",
        "configmapReload.prometheus.containerSecurityContext.*",
        "configmapReload.prometheus.resources.*",
        "scrapeConfigs.*",
        "server.containerSecurityContext.*",
        "server.extraSecretMounts",
        "server.fullnameOverride",
        "server.global.*",
        "server.persistentVolume.enabled",
        "server.persistentVolume.size",
        "server.persistentVolume.storageClass",
        "server.podDisruptionBudget.enabled",
        "server.podDisruptionBudget.maxUnavailable",
        "server.remoteWrite",
        "server.replicaCount",
        "server.resources.*",
        "server.retention",
        "server.securityContext.*",
        "server.statefulSet.enabled",
    },
    "grafana": {
        "admin.existingSecret",
        "admin.passwordKey",
        "admin.userKey",
        "containerSecurityContext.*",
        "dashboardProviders.*",
        "dashboardsConfigMaps.*",
        "datasources.*",
        "deploymentStrategy.*",
        "extraEmptyDirMounts",
        "grafana.ini.*",
        "initChownData.enabled",
        "persistence.enabled",
        "persistence.size",
        "persistence.storageClassName",
        "replicas",
        "resources.*",
        "securityContext.*",
        "testFramework.enabled",
    },
    "kiali-server": {
        "auth.strategy",
        "auth.openid.client_id",
        "auth.openid.issuer_uri",
        "auth.openid.username_claim",
        "deployment.image_pull_policy",
        "deployment.image_version",
        "deployment.pod_disruption_budget.spec.*",
        "deployment.replicas",
        "deployment.resources.*",
        "deployment.security_context.*",
        "external_services.grafana.enabled",
        "external_services.grafana.external_url",
        "external_services.grafana.internal_url",
        "external_services.prometheus.url",
        "external_services.tracing.enabled",
        "external_services.tracing.external_url",
        "external_services.tracing.internal_url",
        "external_services.tracing.provider",
        "external_services.tracing.use_grpc",
        "login_token.signing_key",
    },
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
