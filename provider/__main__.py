"""The mesh-tracing component provider: hosts the package's components for programs in any language.

Pulumi runs this plugin from `provider/` (see PulumiPlugin.yaml). Its schema, with every input and output
of every public component, comes from the Pulumi SDK's analyzer of the components' type annotations.
"""

from pulumi.provider.experimental import component_provider_host

from mesh_tracing.tooling.schema import hosted

if __name__ == "__main__":
    component_provider_host(**hosted())
