"""Where a Helm chart comes from: a classic repository or an OCI registry, pinned to a version."""

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_kubernetes.helm.v4 import RepositoryOptsArgs

from mesh_tracing.fields import ChartRepository
from mesh_tracing.spec import MISSING, Problem, Spec, secret


class ChartSource(Spec):
    """A pinned chart location shared by the charts of one project (Istio's base, istiod and gateway)."""

    repository: ChartRepository
    """An HTTP(S) Helm repository (`https://istio-release.storage.googleapis.com/charts`, or a private
    mirror) or an OCI registry path (`oci://registry.istio.io/release/charts`)."""
    version: str
    """The charts' version (for Istio, the release)."""
    username: str | None = None
    """User for a private repository; `password` is then required."""
    password: pulumi.Input[str] | None = secret()
    """The repository user's password (a secret)."""

    def _rules(self) -> list[Problem]:
        if self.username and self.password is None:
            return [Problem(("password",), MISSING, "required with {0}", refs=(("username",),))]
        return []

    @property
    def is_oci(self) -> bool:
        return self.repository.startswith("oci://")

    def chart_args(self, chart: str) -> dict[str, Any]:
        """The `chart`, `version` and `repository_opts` arguments of a `helm.v4.Chart` for `chart`."""
        password = pulumi.Output.secret(self.password) if self.password is not None else None
        if self.is_oci:
            # OCI charts are addressed by URL; repository_opts then only carries credentials.
            return {
                "chart": f"{self.repository.rstrip('/')}/{chart}",
                "version": self.version,
                "repository_opts": RepositoryOptsArgs(username=self.username, password=password)
                if self.username
                else None,
            }
        return {
            "chart": chart,
            "version": self.version,
            "repository_opts": RepositoryOptsArgs(
                repo=self.repository, username=self.username, password=password
            ),
        }


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merges `override` into a copy of `base`: maps merge key by key, anything else is replaced.

    This is how Helm merges `--values` files, so extra values behave as users expect.
    """
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
CLAIM_TYPE = "kubernetes:core/v1:PersistentVolumeClaim"


def _retained(args: pulumi.ResourceTransformArgs, type_: str) -> pulumi.ResourceTransformResult | None:
    if args.type_ != type_:
        return None
    return pulumi.ResourceTransformResult(
        props=args.props,
        opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )


def retain_crds(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Resource transform: keep a chart's CustomResourceDefinitions in the cluster when Pulumi deletes them
    (deleting a CRD deletes every resource of its kind)."""
    return _retained(args, CRD_TYPE)


def retain_claims(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Resource transform: keep a chart's PersistentVolumeClaims (its data) when Pulumi deletes them."""
    return _retained(args, CLAIM_TYPE)
