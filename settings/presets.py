"""Per-environment defaults. A stack file's values are merged over its environment's preset.

The sampling percentage and the gateway exposure have no preset on purpose: every stack file states them.
"""

from typing import Any

from components.options import Environment

PRESETS: dict[Environment, dict[str, Any]] = {
    Environment.DEV: {
        "istio": {
            "istiod": {
                "minReplicas": 1,
                "maxReplicas": 1,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            },
        },
    },
    Environment.STAGING: {
        "istio": {
            "istiod": {
                "minReplicas": 1,
                "maxReplicas": 3,
                "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}},
            },
        },
    },
    Environment.PROD: {
        "istio": {
            # Two istiod replicas and a PodDisruptionBudget keep injection and xDS up during node drains.
            "istiod": {
                "minReplicas": 2,
                "maxReplicas": 5,
                "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}},
            },
        },
    },
}
