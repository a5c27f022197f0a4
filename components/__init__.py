"""Pulumi component resources for distributed tracing on an Istio service mesh.

Each component takes typed args and never reads stack config, so other programs can import it with
their own values.
"""

from components.helm import ChartSource
from components.istio_control_plane import IstioControlPlane, IstioControlPlaneArgs
from components.options import Environment, ExposureMode

__all__ = [
    "ChartSource",
    "Environment",
    "ExposureMode",
    "IstioControlPlane",
    "IstioControlPlaneArgs",
]
