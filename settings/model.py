"""The typed stack settings. Stack files use camelCase keys; Python code uses the snake_case fields.

Every model forbids unknown keys, so a typo such as `samplingPercentag` is an error, not a silent default.
"""

import ipaddress
from typing import Annotated, Any, Literal, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from components import bookinfo, load_generator
from components.jaeger import DEFAULT_IMAGE, DEFAULT_INDEX_CLEANER_IMAGE
from components.jaeger_storage import BadgerStorage, CassandraStorage, MemoryStorage, SearchStorage
from components.options import Cloud, Environment, ExposureMode, JaegerUiAccess, TlsMode

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

Duration = Annotated[str, StringConstraints(pattern=r"^([0-9]+(ms|s|m|h))+$")]
"""A Go duration such as `72h` or `1h30m`."""

Hostname = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]

Port = Annotated[int, Field(ge=1, le=65535)]

HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(:[0-9]+)?(/\S*)?$")]

Cron = Annotated[str, StringConstraints(pattern=r"^(\S+\s+){4}\S+$")]
"""A five-field cron schedule, e.g. `55 23 * * *`."""


def _pinned(image: str) -> str:
    tag = image.rsplit("/", 1)[-1]
    if "@sha256:" in image or (":" in tag and not tag.endswith(":latest")):
        return image
    raise ValueError("an image pinned to a version tag or digest (not `latest`, not untagged)")


PinnedImage = Annotated[str, StringConstraints(pattern=r"^\S+$"), AfterValidator(_pinned)]


def _cidr(value: str) -> str:
    ipaddress.ip_network(value, strict=True)  # raises ValueError with the reason
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
"""An IPv4 or IPv6 network such as `10.0.0.0/8`."""

GatewayHost = Annotated[str, StringConstraints(pattern=r"^(\*|(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$")]
"""A host the gateway serves: a DNS name, `*.domain`, or `*` (dev only)."""

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]

NodePort = Annotated[int, Field(ge=30000, le=32767)]


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
    mtls_mode: Literal["STRICT", "PERMISSIVE"]
    """Mesh-wide mutual TLS: STRICT accepts only mTLS between sidecars."""
    harden_control_plane: bool
    """Close istiod's plaintext debug (8080) and xDS (15010) ports."""
    istiod: IstiodSettings
    extra_values: IstioExtraValues = IstioExtraValues()

    @property
    def effective_revision(self) -> str:
        return self.revision or self.version.replace(".", "-")


class BackendSettings(SettingsModel):
    """Where spans go. `jaeger` is the in-cluster Jaeger; the others are existing services."""

    kind: Literal["jaeger", "zipkin", "otlp", "datadog"] = "jaeger"
    protocol: Literal["otlp", "zipkin"] = "otlp"
    """How the mesh reports to the in-cluster Jaeger."""
    service: Hostname | None = None
    """Host of an external backend (`zipkin`, `otlp`, `datadog`): a cluster FQDN or a public name."""
    port: Port | None = None
    transport: Literal["grpc", "http"] = "grpc"
    """OTLP transport of an `otlp` backend."""
    path: str | None = None
    """URL path: OTLP/HTTP traces path or Zipkin spans path."""
    tls: bool = True
    """Originate TLS to an external `otlp` backend."""
    token_header: str | None = None
    """Header carrying the access token (the secret `tracingBackendToken`), e.g. `lightstep-access-token`."""


class CustomTagSettings(SettingsModel):
    """Exactly one of: a literal value, a request header, or an environment variable of the proxy."""

    literal: str | None = None
    header: str | None = None
    environment: str | None = None
    default_value: str | None = None


class NamespaceSamplingSettings(SettingsModel):
    namespace: DnsLabel
    sampling_percentage: Percentage


class TracingSettings(SettingsModel):
    sampling_percentage: Percentage
    """Share of requests traced, 0-100; applied through the Telemetry API without pod restarts."""
    high_sampling_reason: Annotated[str, StringConstraints(min_length=10)] | None = None
    """Why prod samples more than 10 %: the policy pack accepts it only with a reason."""
    backend: BackendSettings = BackendSettings()
    environment_tag: bool = True
    """Tag every span with `environment=<dev|staging|prod>`."""
    custom_tags: dict[str, CustomTagSettings] = {}
    namespace_overrides: list[NamespaceSamplingSettings] = []
    """Other sampling rates for existing namespaces."""


class StorageTlsSettings(SettingsModel):
    enabled: bool = True
    ca_pem: str | None = None
    """PEM of the CA that signed the store's certificate; the system roots are used when unset."""
    insecure_skip_verify: bool = False
    server_name: str | None = None


class MemoryStorageSettings(SettingsModel):
    max_traces: Annotated[int, Field(ge=1000, le=10_000_000)] = MemoryStorage.max_traces


class BadgerStorageSettings(SettingsModel):
    size: Quantity = BadgerStorage.size
    storage_class: str | None = None
    span_ttl: Duration = BadgerStorage.span_ttl


class SearchStorageSettings(SettingsModel):
    """Elasticsearch or OpenSearch."""

    server_urls: Annotated[list[HttpUrl], Field(min_length=1)]
    index_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,40}[a-z0-9]$")] | None = (
        None
    )
    username: str | None = None
    """Basic-auth user; the password is the secret `jaegerStoragePassword`."""
    retention_days: Annotated[int, Field(ge=1, le=3650)] = SearchStorage.retention_days
    cleaner_schedule: Cron = SearchStorage.cleaner_schedule
    index_shards: Annotated[int, Field(ge=1, le=100)] | None = None
    index_replicas: Annotated[int, Field(ge=0, le=10)] | None = None
    tls: StorageTlsSettings = StorageTlsSettings()


class CassandraStorageSettings(SettingsModel):
    servers: Annotated[list[Hostname], Field(min_length=1)]
    port: Port = CassandraStorage.port
    keyspace: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")] = CassandraStorage.keyspace
    datacenter: str = CassandraStorage.datacenter
    create_schema: bool = CassandraStorage.create_schema
    replication_factor: Annotated[int, Field(ge=1, le=10)] = CassandraStorage.replication_factor
    trace_ttl: Duration = CassandraStorage.trace_ttl
    username: str | None = None
    """Password authenticator user; the password is the secret `jaegerStoragePassword`."""
    tls: StorageTlsSettings = StorageTlsSettings(enabled=False)


StorageKind = Literal["memory", "badger", "elasticsearch", "opensearch", "cassandra"]


class StorageSettings(SettingsModel):
    """`kind` picks the backend; only that backend's block may be set."""

    kind: StorageKind
    memory: MemoryStorageSettings | None = None
    badger: BadgerStorageSettings | None = None
    elasticsearch: SearchStorageSettings | None = None
    opensearch: SearchStorageSettings | None = None
    cassandra: CassandraStorageSettings | None = None


class CollectorSettings(SettingsModel):
    min_replicas: Annotated[int, Field(ge=1, le=50)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    resources: ResourceSettings


class QuerySettings(SettingsModel):
    replicas: Annotated[int, Field(ge=1, le=10)] = 1
    resources: ResourceSettings


class JaegerSettings(SettingsModel):
    enabled: bool | None = None
    """Run the in-cluster Jaeger; by default only when it is the tracing backend."""
    namespace: DnsLabel = "tracing"
    create_namespace: bool = True
    image: PinnedImage = DEFAULT_IMAGE
    index_cleaner_image: PinnedImage = DEFAULT_INDEX_CLEANER_IMAGE
    storage: StorageSettings
    resources: ResourceSettings
    """All-in-one resources (memory, Badger)."""
    collector: CollectorSettings
    """Collector scale and resources (Elasticsearch, OpenSearch, Cassandra)."""
    query: QuerySettings


class CertManagerSettings(SettingsModel):
    install: bool = True
    """Install cert-manager (with its CRDs); false when the cluster already runs it."""
    version: Annotated[str, StringConstraints(pattern=r"^v\d+\.\d+\.\d+$")] = "v1.19.4"
    namespace: DnsLabel = "cert-manager"
    chart_repository: ChartRepository = "https://charts.jetstack.io"


class GatewayTlsSettings(SettingsModel):
    mode: TlsMode = TlsMode.NONE
    acme_email: Email | None = None
    """Let's Encrypt account contact (expiry notices); required for the acme modes."""
    existing_secret_name: DnsLabel | None = None
    """For `existing`: a TLS Secret in the gateway namespace."""
    cert_manager: CertManagerSettings = CertManagerSettings()


class JaegerUiSettings(SettingsModel):
    access: JaegerUiAccess = JaegerUiAccess.NONE
    host: Hostname | None = None
    allowed_source_ranges: list[Cidr] = []


class NodePortSettings(SettingsModel):
    http: NodePort | None = None
    https: NodePort | None = None


class GatewaySettings(SettingsModel):
    exposure: ExposureMode
    hosts: Annotated[list[GatewayHost], Field(min_length=1)]
    """Hosts the apps are served on."""
    name: DnsLabel = "istio-ingressgateway"
    namespace: DnsLabel = "istio-ingress"
    cloud: Cloud | None = None
    """For `internal`: `aws`, `gcp` or `azure`."""
    load_balancer_source_ranges: list[Cidr] = []
    node_ports: NodePortSettings | None = None
    min_replicas: Annotated[int, Field(ge=1, le=50)]
    max_replicas: Annotated[int, Field(ge=1, le=100)]
    resources: ResourceSettings
    tls: GatewayTlsSettings = GatewayTlsSettings()
    jaeger_ui: JaegerUiSettings = JaegerUiSettings()
    extra_values: dict[str, Any] = {}


class LoadGeneratorSettings(SettingsModel):
    enabled: bool
    requests_per_second: Annotated[float, Field(gt=0, le=100)] = 1.0
    connections: Annotated[int, Field(ge=1, le=16)] = 1
    image: PinnedImage = load_generator.DEFAULT_IMAGE


ReviewsVersion = Literal["v1", "v2", "v3"]


class BookinfoSettings(SettingsModel):
    enabled: bool
    namespace: DnsLabel = "bookinfo"
    host: Hostname | None = None
    """Host of the product page; one of gateway.hosts, the first by default."""
    image_hub: Annotated[str, StringConstraints(pattern=r"^\S+$")] = bookinfo.DEFAULT_IMAGE_HUB
    image_tag: Annotated[str, StringConstraints(pattern=r"^[\w][\w.-]{0,127}$")] = bookinfo.DEFAULT_IMAGE_TAG
    replicas: Annotated[int, Field(ge=1, le=10)] = 1
    default_deny: bool
    """Deny all traffic in the namespace but Bookinfo's own calls and its clients'."""
    reviews_weights: dict[ReviewsVersion, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: cast(dict[ReviewsVersion, int], dict(bookinfo.EVEN_REVIEWS_WEIGHTS))
    )
    """Share of reviews traffic per version, summing to 100."""
    resources: ResourceSettings = ResourceSettings.model_validate(bookinfo.SMALL)
    reviews_resources: ResourceSettings = ResourceSettings.model_validate(bookinfo.JAVA)
    load_generator: LoadGeneratorSettings


class MeshSettings(SettingsModel):
    """The whole stack configuration, after the environment preset has been applied."""

    environment: Environment
    istio: IstioSettings
    tracing: TracingSettings
    jaeger: JaegerSettings
    gateway: GatewaySettings
    bookinfo: BookinfoSettings

    @property
    def jaeger_enabled(self) -> bool:
        enabled = self.jaeger.enabled
        return self.tracing.backend.kind == "jaeger" if enabled is None else enabled
