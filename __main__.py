"""Distributed tracing on an Istio mesh, per environment.

Settings are read and validated first; a bad stack config stops here, before any resource exists.
"""

import pulumi

from components import IstioControlPlane
from settings import load_settings
from settings.component_args import control_plane_args

settings = load_settings()

control_plane = IstioControlPlane("istio", control_plane_args(settings))

pulumi.export("environment", settings.mesh.environment.value)
pulumi.export("istioRevision", control_plane.revision)
pulumi.export("injectionLabels", control_plane.injection_labels)
