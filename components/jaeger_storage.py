"""Jaeger v2 storage: one class per kind of store. Each says everything Jaeger's pods need for it (its
`jaeger_storage` backend block, volumes, environment, a password, a retention job, the update strategy) and
whether the collector and query roles run apart. `JaegerStorage` picks one.

Key names follow Jaeger v2.20's storage config (`cmd/internal/storageconfig`, `internal/storage/...`).
A new kind is one class here plus its registration: a member of `StorageKind` and its block in
`JaegerStorage`.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import pulumi
from pydantic import Field

from mesh_tracing.fields import Cron, DnsLabel, Duration, Hostname, HttpUrl, Port, Quantity
from mesh_tracing.spec import MISSING, SET, Problem, Spec

SECRETS_DIR = "/etc/jaeger/secrets"
PASSWORD_KEY = "password"
"""Key of the password in the storage credentials Secret."""
PASSWORD_FILE = f"{SECRETS_DIR}/{PASSWORD_KEY}"
CASSANDRA_PASSWORD_ENV = "CASSANDRA_PASSWORD"
CA_DIR = "/etc/jaeger/storage-ca"
CA_FILE = f"{CA_DIR}/ca.crt"
BADGER_DIR = "/badger"


class StorageKind(StrEnum):
    """The kinds of store Jaeger v2 keeps traces in here."""

    MEMORY = "memory"
    """In the Jaeger process: lost on restart (dev only)."""
    BADGER = "badger"
    """Embedded key-value store on a PersistentVolumeClaim (one pod)."""
    ELASTICSEARCH = "elasticsearch"
    """An existing Elasticsearch cluster."""
    OPENSEARCH = "opensearch"
    """An existing OpenSearch cluster."""
    CASSANDRA = "cassandra"
    """An existing Cassandra cluster."""


@dataclass(frozen=True)
class StorageRefs:
    """Names of the objects the Jaeger component made for the store, for its pods to refer to."""

    credentials: pulumi.Input[str] | None = None
    """The Secret holding the store's password under `password`."""
    claim: pulumi.Input[str] | None = None
    """The PersistentVolumeClaim of an embedded store."""
    ca_config_map: pulumi.Input[str] | None = None
    """The ConfigMap holding an inline CA (`tls.ca_pem`) under `ca.crt`."""


@dataclass
class PodStorage:
    """What a Jaeger pod needs for its store."""

    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    env: list[dict[str, Any]] = field(default_factory=list)

    def add(self, volume: dict[str, Any], mount_path: str, read_only: bool = True) -> None:
        self.volumes.append(volume)
        self.mounts.append(
            {"name": volume["name"], "mountPath": mount_path, **({"readOnly": True} if read_only else {})}
        )


def secret_env(variable: str, secret: pulumi.Input[str]) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": PASSWORD_KEY}}}


class StorageBackend(Protocol):
    """What every kind of store says about itself."""

    split_roles: ClassVar[bool]
    """The collector and the query service run as separate, scaled Deployments."""
    single_writer: ClassVar[bool]
    """One pod at a time may open the store: a single replica, replaced with `Recreate`."""

    def config(self, kind: StorageKind) -> dict[str, Any]:
        """The backend's block under `extensions.jaeger_storage.backends.<name>`."""
        ...

    def user(self) -> str | None:
        """The store's user: its password is then a secret, kept in a Secret the pods read."""
        ...

    def inline_ca(self) -> str | None:
        """A CA certificate (PEM) to keep in a ConfigMap for the pods."""
        ...

    def claim(self) -> dict[str, Any] | None:
        """The spec of the PersistentVolumeClaim the store lives on, if any."""
        ...

    def pod(self, refs: StorageRefs) -> PodStorage:
        """The volumes, mounts and environment a Jaeger pod needs for the store."""
        ...

    def retention_job(self, kind: StorageKind, refs: StorageRefs) -> "RetentionJob | None":
        """A scheduled job that enforces retention, when the store does not do it itself."""
        ...


@dataclass(frozen=True)
class RetentionJob:
    """A CronJob's schedule and its container's arguments, environment and storage needs."""

    schedule: str
    args: list[str]
    env: list[dict[str, Any]]
    storage: PodStorage


class ObjectKeyRef(Spec):
    """A key of a Secret or ConfigMap in Jaeger's namespace."""

    name: DnsLabel
    """The object's name."""
    key: str = "ca.crt"
    """The key holding the value."""


class StorageTls(Spec):
    """TLS to an external store. The CA comes from one of `ca_pem`, `ca_secret` or `ca_config_map`, or from
    the system roots when none is set."""

    enabled: bool = True
    """Use TLS."""
    ca_pem: str | None = None
    """PEM of the CA that signed the store's certificate, kept in a ConfigMap next to Jaeger."""
    ca_secret: ObjectKeyRef | None = None
    """A Secret in Jaeger's namespace holding the CA, e.g. a copy of ECK's `<name>-es-http-certs-public`."""
    ca_config_map: ObjectKeyRef | None = None
    """A ConfigMap in Jaeger's namespace holding the CA, e.g. one a trust-manager Bundle writes into every
    namespace."""
    insecure_skip_verify: bool = False
    """Do not verify the store's certificate (never in prod)."""
    server_name: str | None = None
    """The name to verify the certificate against, when it differs from the URL's host."""

    def _rules(self) -> list[Problem]:
        sources = [s for s in ("ca_pem", "ca_secret", "ca_config_map") if getattr(self, s) is not None]
        if len(sources) > 1:
            return [Problem((sources[1],), SET, "at most one CA source: {0} is set", ((sources[0],),))]
        return []

    @property
    def has_ca(self) -> bool:
        return self.enabled and any(s is not None for s in (self.ca_pem, self.ca_secret, self.ca_config_map))

    def jaeger_config(self) -> dict[str, Any]:
        """OpenTelemetry `configtls.ClientConfig`: `insecure: true` turns TLS off."""
        if not self.enabled:
            return {"insecure": True}
        config: dict[str, Any] = {"insecure": False, "insecure_skip_verify": self.insecure_skip_verify}
        if self.has_ca:
            config["ca_file"] = CA_FILE
        if self.server_name:
            config["server_name_override"] = self.server_name
        return config

    def mount_ca(self, pod: PodStorage, refs: StorageRefs) -> None:
        """Mounts the CA as `ca.crt` in CA_DIR, whichever object holds it."""
        if not self.has_ca:
            return
        source: dict[str, Any]
        if self.ca_secret is not None:
            source = {"secret": {"secretName": self.ca_secret.name, "items": [_as_ca(self.ca_secret.key)]}}
        elif self.ca_config_map is not None:
            source = {
                "configMap": {"name": self.ca_config_map.name, "items": [_as_ca(self.ca_config_map.key)]}
            }
        else:
            source = {"configMap": {"name": refs.ca_config_map}}
        pod.add({"name": "storage-ca", **source}, CA_DIR)


def _as_ca(key: str) -> dict[str, str]:
    return {"key": key, "path": "ca.crt"}


class MemoryStorage(Spec):
    """In-process storage: lost on restart, so for dev only. Retention is a bound on the trace count."""

    split_roles: ClassVar[bool] = False
    single_writer: ClassVar[bool] = False

    max_traces: int = Field(100_000, ge=1000, le=10_000_000)
    """Retention: the newest N traces are kept."""

    def config(self, kind: StorageKind) -> dict[str, Any]:
        return {"memory": {"max_traces": self.max_traces}}

    def user(self) -> str | None:
        return None

    def inline_ca(self) -> str | None:
        return None

    def claim(self) -> dict[str, Any] | None:
        return None

    def pod(self, refs: StorageRefs) -> PodStorage:
        return PodStorage()

    def retention_job(self, kind: StorageKind, refs: StorageRefs) -> RetentionJob | None:
        return None


class BadgerStorage(Spec):
    """Embedded key-value store on a PersistentVolumeClaim. It locks its files: one pod, replaced with
    `Recreate`. Retention: Badger deletes spans older than `span_ttl` itself."""

    split_roles: ClassVar[bool] = False
    single_writer: ClassVar[bool] = True

    size: Quantity = "10Gi"
    """Size of the PersistentVolumeClaim."""
    storage_class: str | None = None
    """StorageClass of the claim; the cluster's default when unset."""
    span_ttl: Duration = "72h"
    """Retention: spans older than this are deleted by Badger's own maintenance."""

    def config(self, kind: StorageKind) -> dict[str, Any]:
        return {
            "badger": {
                "directories": {"keys": f"{BADGER_DIR}/keys", "values": f"{BADGER_DIR}/values"},
                "ephemeral": False,
                "ttl": {"spans": self.span_ttl},
            }
        }

    def user(self) -> str | None:
        return None

    def inline_ca(self) -> str | None:
        return None

    def claim(self) -> dict[str, Any] | None:
        spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": self.size}},
        }
        if self.storage_class:
            spec["storageClassName"] = self.storage_class
        return spec

    def pod(self, refs: StorageRefs) -> PodStorage:
        pod = PodStorage()
        pod.add(
            {"name": "badger", "persistentVolumeClaim": {"claimName": refs.claim}},
            BADGER_DIR,
            read_only=False,
        )
        return pod

    def retention_job(self, kind: StorageKind, refs: StorageRefs) -> RetentionJob | None:
        return None


class SearchStorage(Spec):
    """An existing Elasticsearch or OpenSearch cluster. Retention: a CronJob (Jaeger's index cleaner)
    deletes daily indices older than `retention_days`."""

    split_roles: ClassVar[bool] = True
    single_writer: ClassVar[bool] = False

    server_urls: list[HttpUrl] = Field(min_length=1)
    """The cluster's URLs, e.g. `https://elasticsearch-es-http.elastic-system.svc.cluster.local:9200`."""
    index_prefix: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,40}[a-z0-9]$")
    """Prefix of Jaeger's indices, to share a cluster between environments."""
    username: str | None = None
    """Basic-auth user; its password is then required (a secret)."""
    retention_days: int = Field(7, ge=1, le=3650)
    """Retention: indices older than this many days are deleted."""
    cleaner_schedule: Cron = "55 23 * * *"
    """When the index cleaner runs."""
    index_shards: int | None = Field(None, ge=1, le=100)
    """Shards of each new index; the cluster's default when unset."""
    index_replicas: int | None = Field(None, ge=0, le=10)
    """Replicas of each new index; the cluster's default when unset."""
    tls: StorageTls = StorageTls()
    """TLS to the cluster (on by default)."""

    def config(self, kind: StorageKind) -> dict[str, Any]:
        config: dict[str, Any] = {"server_urls": list(self.server_urls), "tls": self.tls.jaeger_config()}
        if self.username:
            # The password is read from the mounted Secret, never written into the ConfigMap.
            config["auth"] = {"basic": {"username": self.username, "password_file": PASSWORD_FILE}}
        indices: dict[str, Any] = {}
        if self.index_prefix:
            indices["index_prefix"] = self.index_prefix
        sizing = {
            k: v
            for k, v in (("shards", self.index_shards), ("replicas", self.index_replicas))
            if v is not None
        }
        if sizing:
            indices.update({index: dict(sizing) for index in ("spans", "services", "dependencies")})
        if indices:
            config["indices"] = indices
        return {kind.value: config}

    def user(self) -> str | None:
        return self.username

    def inline_ca(self) -> str | None:
        return self.tls.ca_pem if self.tls.enabled else None

    def claim(self) -> dict[str, Any] | None:
        return None

    def pod(self, refs: StorageRefs) -> PodStorage:
        pod = PodStorage()
        if refs.credentials is not None:
            pod.add({"name": "credentials", "secret": {"secretName": refs.credentials}}, SECRETS_DIR)
        self.tls.mount_ca(pod, refs)
        return pod

    def retention_job(self, kind: StorageKind, refs: StorageRefs) -> RetentionJob | None:
        """Jaeger's `es-index-cleaner`: NUM_OF_DAYS and one server URL, the rest from its environment."""
        env: list[dict[str, Any]] = []
        if self.index_prefix:
            env.append({"name": "INDEX_PREFIX", "value": self.index_prefix})
        if self.username and refs.credentials is not None:
            env += [
                {"name": "ES_USERNAME", "value": self.username},
                secret_env("ES_PASSWORD", refs.credentials),
            ]
        storage = PodStorage()
        if self.tls.enabled and self.server_urls[0].startswith("https://"):
            env += [
                {"name": "ES_TLS_ENABLED", "value": "true"},
                {"name": "ES_TLS_SKIP_HOST_VERIFY", "value": str(self.tls.insecure_skip_verify).lower()},
            ]
            if self.tls.server_name:
                env.append({"name": "ES_TLS_SERVER_NAME", "value": self.tls.server_name})
            if self.tls.has_ca:
                env.append({"name": "ES_TLS_CA", "value": CA_FILE})
                self.tls.mount_ca(storage, refs)
        return RetentionJob(
            schedule=self.cleaner_schedule,
            args=[str(self.retention_days), self.server_urls[0]],
            env=env,
            storage=storage,
        )


class CassandraStorage(Spec):
    """An existing Cassandra cluster. Retention: the tables' TTL (`trace_ttl`)."""

    split_roles: ClassVar[bool] = True
    single_writer: ClassVar[bool] = False

    servers: list[Hostname] = Field(min_length=1)
    """Contact points, host names such as `cassandra.db.svc.cluster.local` or `cassandra`."""
    port: Port = 9042
    """CQL port of every contact point."""
    keyspace: str = Field("jaeger_v1_dc1", pattern=r"^[a-z][a-z0-9_]{0,47}$")
    """Keyspace of Jaeger's tables."""
    datacenter: str = "dc1"
    """Local datacenter, for the keyspace and for routing."""
    create_schema: bool = True
    """Create the keyspace and tables when they are missing."""
    replication_factor: int = Field(1, ge=1, le=10)
    """Replication factor of a keyspace Jaeger creates."""
    trace_ttl: Duration = "48h"
    """Retention: spans and dependencies expire after this."""
    username: str | None = None
    """Password-authenticator user; its password is then required (a secret)."""
    tls: StorageTls = StorageTls(enabled=False)
    """TLS to the cluster (off by default)."""

    def user(self) -> str | None:
        return self.username

    def inline_ca(self) -> str | None:
        return self.tls.ca_pem if self.tls.enabled else None

    def config(self, kind: StorageKind) -> dict[str, Any]:
        connection: dict[str, Any] = {
            # Jaeger validates each server as a URL, which a bare host such as `cassandra` is not; as
            # `host:port` every host name is valid.
            "servers": [f"{server}:{self.port}" for server in self.servers],
            "port": self.port,
            "local_dc": self.datacenter,
            "tls": self.tls.jaeger_config(),
        }
        if self.username:
            # Cassandra has no password file option: the value comes from the Secret through the
            # environment, expanded by the collector's config loader.
            connection["auth"] = {
                "basic": {"username": self.username, "password": f"${{env:{CASSANDRA_PASSWORD_ENV}}}"}
            }
        return {
            "cassandra": {
                "schema": {
                    "keyspace": self.keyspace,
                    "create": self.create_schema,
                    "datacenter": self.datacenter,
                    "replication_factor": self.replication_factor,
                    "trace_ttl": self.trace_ttl,
                    "dependencies_ttl": self.trace_ttl,
                },
                "connection": connection,
            }
        }

    def claim(self) -> dict[str, Any] | None:
        return None

    def pod(self, refs: StorageRefs) -> PodStorage:
        pod = PodStorage()
        if refs.credentials is not None:
            pod.env.append(secret_env(CASSANDRA_PASSWORD_ENV, refs.credentials))
        self.tls.mount_ca(pod, refs)
        return pod

    def retention_job(self, kind: StorageKind, refs: StorageRefs) -> RetentionJob | None:
        return None


class JaegerStorage(Spec):
    """Where Jaeger keeps traces: `kind` picks the store, and only that store's block may be set. Memory and
    Badger have defaults; Elasticsearch, OpenSearch and Cassandra need their block (where the cluster is)."""

    kind: StorageKind
    """The kind of store."""
    memory: MemoryStorage | None = None
    """Settings of `memory`."""
    badger: BadgerStorage | None = None
    """Settings of `badger`."""
    elasticsearch: SearchStorage | None = None
    """Settings of `elasticsearch`: the existing cluster, credentials, retention."""
    opensearch: SearchStorage | None = None
    """Settings of `opensearch`: the existing cluster, credentials, retention."""
    cassandra: CassandraStorage | None = None
    """Settings of `cassandra`: the existing cluster, credentials, retention."""

    @property
    def chosen(self) -> StorageBackend | None:
        """The chosen store: its block, or its defaults; None when its block is missing."""
        block = getattr(self, self.kind.value)
        if block is None and self.kind in _DEFAULTS:
            block = _DEFAULTS[self.kind]()
        chosen: StorageBackend | None = block
        return chosen

    @property
    def backend(self) -> StorageBackend:
        """The chosen store (a valid spec always has one)."""
        assert self.chosen is not None, "a storage kind without its block does not validate"
        return self.chosen

    def _rules(self) -> list[Problem]:
        problems = [
            Problem(
                (kind.value,),
                SET,
                f"unset: only the block of {{0}} ({self.kind.value}) is used",
                (("kind",),),
            )
            for kind in StorageKind
            if kind is not self.kind and getattr(self, kind.value) is not None
        ]
        if self.chosen is None:
            what = "servers" if self.kind is StorageKind.CASSANDRA else "serverUrls"
            problems.append(
                Problem(
                    (self.kind.value,),
                    MISSING,
                    f"the existing cluster to use ({what}, credentials, retention)",
                )
            )
        return problems


_DEFAULTS: dict[StorageKind, type[MemoryStorage] | type[BadgerStorage]] = {
    StorageKind.MEMORY: MemoryStorage,
    StorageKind.BADGER: BadgerStorage,
}
"""The kinds that work with no settings at all."""
