"""Per-environment defaults. A stack file's values are merged over its environment's preset.

The sampling percentage and the gateway exposure have no preset on purpose: every stack file states them.
"""

from typing import Any

from components.options import Environment


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


_SMALL = _resources("100m", "256Mi", "500m", "1Gi")

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
    },
}
