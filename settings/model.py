"""The typed stack settings. Stack files use camelCase keys; Python code uses the snake_case fields.

Every model forbids unknown keys, so a typo such as `samplingPercentag` is an error, not a silent default.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from components.options import Environment, ExposureMode

DnsLabel = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
"""A Kubernetes name such as a namespace: lowercase letters, digits and '-', at most 63 characters."""

Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")]
"""A Kubernetes resource quantity such as `500m`, `2Gi` or `1`."""

Percentage = Annotated[float, Field(ge=0, le=100)]

ChartRepository = Annotated[str, StringConstraints(pattern=r"^(https?|oci)://\S+$")]
"""An HTTP(S) Helm repository or an `oci://` registry path."""

ReleaseVersion = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")]

Revision = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")]
"""An istiod revision: it becomes part of resource names, so it is a short DNS label."""


class SettingsModel(BaseModel):
    """Base of every settings model: camelCase keys, no unknown keys, immutable."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True, strict=True
    )


class ComputeQuantities(SettingsModel):
    cpu: Quantity
    memory: Quantity


class ResourceSettings(SettingsModel):
    """Container requests and (optional) limits."""

    requests: ComputeQuantities
    limits: ComputeQuantities | None = None

    def as_kubernetes(self) -> dict[str, dict[str, str]]:
        return self.model_dump(exclude_none=True)


class IstiodSettings(SettingsModel):
    min_replicas: Annotated[int, Field(ge=1, le=20)]
    """Replicas, or the autoscaler's minimum when `maxReplicas` is higher."""
    max_replicas: Annotated[int, Field(ge=1, le=50)]
    resources: ResourceSettings


class IstioExtraValues(SettingsModel):
    """Helm values merged last into each chart: the escape hatch for anything not modelled here."""

    base: dict[str, Any] = {}
    istiod: dict[str, Any] = {}
    cni: dict[str, Any] = {}


class IstioSettings(SettingsModel):
    version: ReleaseVersion = "1.30.3"
    """Istio release; Istio's charts are versioned with the release."""
    revision: Revision | None = None
    """istiod revision; defaults to the version with dots as dashes (`1-30-3`)."""
    chart_repository: ChartRepository = "https://istio-release.storage.googleapis.com/charts"
    chart_repository_username: str | None = None
    """Set for a private mirror; the password is the secret `istioChartRepositoryPassword`."""
    hub: str | None = None
    """Image registry override, e.g. `registry.example.com/istio` for air-gapped clusters."""
    tag: str | None = None
    namespace: DnsLabel = "istio-system"
    create_namespace: bool = True
    cni_enabled: bool = False
    istiod: IstiodSettings
    extra_values: IstioExtraValues = IstioExtraValues()

    @property
    def effective_revision(self) -> str:
        return self.revision or self.version.replace(".", "-")


class TracingSettings(SettingsModel):
    sampling_percentage: Percentage
    """Share of requests traced, 0-100; applied through the Telemetry API without pod restarts."""


class GatewaySettings(SettingsModel):
    exposure: ExposureMode


class MeshSettings(SettingsModel):
    """The whole stack configuration, after the environment preset has been applied."""

    environment: Environment
    istio: IstioSettings
    tracing: TracingSettings
    gateway: GatewaySettings
