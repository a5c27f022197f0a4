"""Per-environment presets, and the rules an environment adds to the parts' own.

A stack file's values are merged over its environment's preset. The sampling percentage and the gateway
exposure have no preset on purpose: every stack file states them.
"""

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from mesh_tracing import k8s as kube
from mesh_tracing.jaeger_storage import StorageKind
from mesh_tracing.kiali import KialiAuth
from mesh_tracing.mesh_security import MtlsMode
from mesh_tracing.prometheus import MetricsMode
from mesh_tracing.spec import Problem
from mesh_tracing.traced_mesh import TracedMeshArgs


class Environment(StrEnum):
    """The environment preset a stack starts from."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


MAX_PROD_SAMPLING = 10.0
PROD_SAMPLING_RULE = (
    f"at most {MAX_PROD_SAMPLING:g} % in prod, unless the reason is recorded "
    f"(tracing.highSamplingReason, kept as the {kube.SAMPLING_OVERRIDE} annotation)"
)
"""The prod sampling rule, worded once for the settings and the policy pack."""


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


_SMALL = _resources("100m", "256Mi", "500m", "1Gi")
# UIs on the dev gateway: localtest.me resolves to 127.0.0.1, which the allowlist admits (port-forward).
_LOCAL_UI = {"access": "gateway", "allowedSourceRanges": ["127.0.0.1/32"]}

PRESETS: dict[Environment, dict[str, Any]] = {
    Environment.DEV: {
        # The sample apps and a gentle load, so traces appear right after `make up`.
        "bookinfo": {
            "enabled": True,
            "defaultDeny": False,
            "loadGenerator": {"enabled": True, "requestsPerSecond": 2},
        },
        "istio": {
            # PERMISSIVE mTLS and istiod's debug ports open: easy to poke at on a laptop.
            "mtlsMode": "PERMISSIVE",
            "hardenControlPlane": False,
            "istiod": {
                "minReplicas": 1,
                "maxReplicas": 1,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            },
        },
        "gateway": {
            # localtest.me resolves to 127.0.0.1: with the port-forward from the outputs, these hosts work
            # from a laptop with no DNS set-up, and the UI allowlist admits port-forwarded connections.
            "hosts": ["bookinfo.localtest.me"],
            "minReplicas": 1,
            "maxReplicas": 1,
            "resources": _resources("100m", "128Mi", "1", "512Mi"),
            "tls": {"mode": "selfsigned"},
            "jaegerUi": {
                "access": "gateway",
                "host": "jaeger.localtest.me",
                "allowedSourceRanges": ["127.0.0.1/32"],
            },
        },
        "jaeger": {
            # In memory: nothing to provision, lost on restart. Fine for a laptop cluster.
            "storage": {"kind": "memory", "memory": {"maxTraces": 50_000}},
            "resources": _SMALL,
            "collector": {"resources": _SMALL},
            "query": {"resources": _SMALL},
        },
        # Everything on, small, a day of samples in an emptyDir; the UIs open without a login.
        "prometheus": {
            "mode": "install",
            "retention": "1d",
            "volumeSize": None,
            "resources": _resources("100m", "256Mi", "500m", "1Gi"),
        },
        "grafana": {"enabled": True, "anonymous": True, "ui": {**_LOCAL_UI, "host": "grafana.localtest.me"}},
        "kiali": {"enabled": True, "auth": "anonymous", "ui": {**_LOCAL_UI, "host": "kiali.localtest.me"}},
    },
    Environment.STAGING: {
        "bookinfo": {"enabled": True, "defaultDeny": True, "loadGenerator": {"enabled": False}},
        "istio": {
            "mtlsMode": "STRICT",
            "hardenControlPlane": True,
            "istiod": {
                "minReplicas": 1,
                "maxReplicas": 3,
                "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}},
            },
        },
        "gateway": {
            "minReplicas": 1,
            "maxReplicas": 3,
            "resources": _resources("200m", "256Mi", "2", "1Gi"),
            "tls": {"mode": "acme-staging"},
        },
        "jaeger": {
            "storage": {"kind": "badger", "badger": {"size": "20Gi", "spanTtl": "72h"}},
            "resources": _resources("250m", "512Mi", "1", "2Gi"),
            "collector": {"resources": _SMALL},
            "query": {"resources": _SMALL},
        },
        # Everything on, on persistent volumes; people log in to Grafana and Kiali.
        "prometheus": {"mode": "install", "retention": "7d", "volumeSize": "20Gi"},
        "grafana": {"enabled": True, "volumeSize": "5Gi"},
        "kiali": {"enabled": True, "auth": "token"},
    },
    Environment.PROD: {
        # Sample apps stay out of prod unless a stack enables them explicitly.
        "bookinfo": {"enabled": False, "defaultDeny": True, "loadGenerator": {"enabled": False}},
        "istio": {
            "mtlsMode": "STRICT",
            "hardenControlPlane": True,
            # Two istiod replicas and a PodDisruptionBudget keep injection and xDS up during node drains.
            "istiod": {
                "minReplicas": 2,
                "maxReplicas": 5,
                "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}},
            },
        },
        "gateway": {
            # Two replicas and a PodDisruptionBudget: the mesh's front door survives a node drain.
            "minReplicas": 2,
            "maxReplicas": 5,
            "resources": _resources("500m", "512Mi", "2", "1Gi"),
            "tls": {"mode": "acme"},
        },
        "jaeger": {
            # The store itself (Elasticsearch/OpenSearch/Cassandra URLs) is the stack file's to name.
            "resources": _SMALL,
            "collector": {
                "minReplicas": 2,
                "maxReplicas": 6,
                "resources": _resources("250m", "512Mi", "1", "1Gi"),
            },
            "query": {"replicas": 2, "resources": _SMALL},
        },
        # Two Prometheus servers (each with its volume) and a budget; remote write when the stack names a
        # long-term store. Grafana keeps its database on a volume; Kiali runs two replicas with a budget.
        "prometheus": {
            "mode": "install",
            "retention": "15d",
            "volumeSize": "50Gi",
            "replicas": 2,
            "resources": _resources("500m", "2Gi", "2", "4Gi"),
        },
        "grafana": {"enabled": True, "volumeSize": "10Gi"},
        "kiali": {"enabled": True, "auth": "token", "replicas": 2},
    },
}


def _prod_ha(mesh: TracedMeshArgs) -> list[Problem]:
    checks = [
        (
            ("istio", "istiod", "min_replicas"),
            mesh.istio.istiod.min_replicas,
            "istiod must survive a node drain",
        ),
        (("gateway", "min_replicas"), mesh.gateway.min_replicas, "the front door must survive a node drain"),
    ]
    return [Problem(path, value, f"at least 2 in prod ({why})") for path, value, why in checks if value < 2]


def _prod_mtls(mesh: TracedMeshArgs) -> list[Problem]:
    mode = mesh.istio.mtls_mode
    if mode is MtlsMode.STRICT:
        return []
    value = mode.value if mode else None
    return [Problem(("istio", "mtls_mode"), value, "STRICT in prod (PERMISSIVE accepts plain text)")]


def _prod_storage(mesh: TracedMeshArgs) -> list[Problem]:
    if mesh.runs_jaeger and mesh.jaeger is not None and mesh.jaeger.storage.kind is StorageKind.MEMORY:
        return [
            Problem(
                ("jaeger", "storage", "kind"),
                StorageKind.MEMORY.value,
                "badger, elasticsearch, opensearch or cassandra in prod (memory loses every trace on restart)",
            )
        ]
    return []


def _prod_sampling(mesh: TracedMeshArgs) -> list[Problem]:
    tracing = mesh.tracing
    if tracing.sampling_percentage > MAX_PROD_SAMPLING and not tracing.high_sampling_reason:
        return [Problem(("tracing", "sampling_percentage"), tracing.sampling_percentage, PROD_SAMPLING_RULE)]
    return []


def _any_host_only_in_dev(mesh: TracedMeshArgs) -> list[Problem]:
    return [
        Problem(("gateway", "hosts", index), host, "a DNS name: '*' (any host) only in dev")
        for index, host in enumerate(mesh.gateway.hosts)
        if host == "*"
    ]


ANONYMOUS_GRAFANA_RULE = "false outside dev: anyone who reaches Grafana would see the mesh's traffic"
ANONYMOUS_KIALI_RULE = "token or openid outside dev: Kiali must know who is looking"
"""Worded once for the settings and the policy pack."""


def _people_log_in(mesh: TracedMeshArgs) -> list[Problem]:
    problems = []
    if mesh.grafana.enabled and mesh.grafana.anonymous:
        problems.append(Problem(("grafana", "anonymous"), True, ANONYMOUS_GRAFANA_RULE))
    if mesh.kiali.enabled and mesh.kiali.auth is KialiAuth.ANONYMOUS:
        problems.append(Problem(("kiali", "auth"), KialiAuth.ANONYMOUS.value, ANONYMOUS_KIALI_RULE))
    return problems


def _prod_metrics_survive(mesh: TracedMeshArgs) -> list[Problem]:
    metrics = mesh.prometheus
    if metrics.mode is MetricsMode.INSTALL and metrics.volume_size is None:
        return [
            Problem(
                ("prometheus", "volume_size"), None, "a volume size in prod: samples must survive a restart"
            )
        ]
    return []


RULES: dict[Environment, list[Callable[[TracedMeshArgs], list[Problem]]]] = {
    Environment.DEV: [],
    Environment.STAGING: [_any_host_only_in_dev, _people_log_in],
    Environment.PROD: [
        _any_host_only_in_dev,
        _prod_ha,
        _prod_mtls,
        _prod_storage,
        _prod_sampling,
        _people_log_in,
        _prod_metrics_survive,
    ],
}
"""What each environment adds to the parts' own checks."""
