"""Where a Helm chart comes from: a classic repository or an OCI registry, pinned to a version."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.helm.v4 import RepositoryOptsArgs


@dataclass(frozen=True)
class ChartSource:
    """A pinned chart location shared by the charts of one project (e.g. Istio's base, istiod and gateway).

    `repository` is either an HTTP(S) Helm repository (`https://istio-release.storage.googleapis.com/charts`,
    or a private mirror) or an OCI registry path (`oci://registry.istio.io/release/charts`).
    """

    repository: str
    version: str
    username: str | None = None
    password: pulumi.Input[str] | None = None

    @property
    def is_oci(self) -> bool:
        return self.repository.startswith("oci://")

    def chart_args(self, chart: str) -> dict[str, Any]:
        """The `chart`, `version` and `repository_opts` arguments of a `helm.v4.Chart` for `chart`."""
        credentials = RepositoryOptsArgs(username=self.username, password=self.password)
        if self.is_oci:
            # OCI charts are addressed by URL; repository_opts then only carries credentials.
            return {
                "chart": f"{self.repository.rstrip('/')}/{chart}",
                "version": self.version,
                "repository_opts": credentials if self.username else None,
            }
        return {
            "chart": chart,
            "version": self.version,
            "repository_opts": RepositoryOptsArgs(
                repo=self.repository, username=self.username, password=self.password
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
