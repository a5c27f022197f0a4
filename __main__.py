"""Distributed tracing on an Istio mesh, per environment: this stack's settings, as one TracedMesh.

Settings are read and validated first; a bad stack config stops here, before any resource exists.
"""

import pulumi

from mesh_tracing import TracedMesh
from mesh_tracing.settings import load_settings

settings = load_settings()
mesh = TracedMesh("mesh", settings.mesh)
for name, value in mesh.outputs().items():
    pulumi.export(name, value)
