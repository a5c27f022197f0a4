"""Jaeger v2 storage backends: each renders its `jaeger_storage` backend config and says what the pods
need for it (a volume, a secret file, an environment variable). Retention is part of every backend.

Key names follow Jaeger v2.20's storage config (`cmd/internal/storageconfig`, `internal/storage/...`).
"""

from dataclasses import dataclass, field
from typing import Any, Literal

SECRETS_DIR = "/etc/jaeger/secrets"
PASSWORD_FILE = f"{SECRETS_DIR}/password"
PASSWORD_KEY = "password"
"""Key of the password in the storage credentials Secret."""
CASSANDRA_PASSWORD_ENV = "CASSANDRA_PASSWORD"
CA_DIR = "/etc/jaeger/storage-ca"
CA_FILE = f"{CA_DIR}/ca.crt"
BADGER_DIR = "/badger"


@dataclass(frozen=True)
class StorageTls:
    """TLS to an external store."""

    enabled: bool = True
    ca_pem: str | None = None
    """PEM of the CA that signed the store's certificate; the system roots are used when unset."""
    insecure_skip_verify: bool = False
    server_name: str | None = None

    def jaeger_config(self) -> dict[str, Any]:
        """OpenTelemetry `configtls.ClientConfig`: `insecure: true` turns TLS off."""
        if not self.enabled:
            return {"insecure": True}
        config: dict[str, Any] = {"insecure": False, "insecure_skip_verify": self.insecure_skip_verify}
        if self.ca_pem:
            config["ca_file"] = CA_FILE
        if self.server_name:
            config["server_name_override"] = self.server_name
        return config


@dataclass(frozen=True)
class MemoryStorage:
    """In-process storage: lost on restart, so for dev only. Retention is a bound on the trace count."""

    max_traces: int = 100_000
    kind: Literal["memory"] = field(default="memory", init=False)
    distributed = False
    needs_password = False

    def backend_config(self) -> dict[str, Any]:
        return {"memory": {"max_traces": self.max_traces}}


@dataclass(frozen=True)
class BadgerStorage:
    """Embedded key-value store on a PersistentVolumeClaim. Single node: one replica, Recreate updates."""

    size: str = "10Gi"
    storage_class: str | None = None
    span_ttl: str = "72h"
    """Retention: spans older than this are deleted by Badger's own maintenance."""
    kind: Literal["badger"] = field(default="badger", init=False)
    distributed = False
    needs_password = False

    def backend_config(self) -> dict[str, Any]:
        return {
            "badger": {
                "directories": {"keys": f"{BADGER_DIR}/keys", "values": f"{BADGER_DIR}/values"},
                "ephemeral": False,
                "ttl": {"spans": self.span_ttl},
            }
        }


@dataclass(frozen=True)
class SearchStorage:
    """An existing Elasticsearch or OpenSearch cluster. Retention: the index cleaner CronJob deletes
    daily indices older than `retention_days`."""

    engine: Literal["elasticsearch", "opensearch"]
    server_urls: tuple[str, ...]
    index_prefix: str | None = None
    username: str | None = None
    retention_days: int = 7
    cleaner_schedule: str = "55 23 * * *"
    index_shards: int | None = None
    index_replicas: int | None = None
    tls: StorageTls = StorageTls()
    distributed = True

    @property
    def kind(self) -> str:
        return self.engine

    @property
    def needs_password(self) -> bool:
        return self.username is not None

    def backend_config(self) -> dict[str, Any]:
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
        return {self.engine: config}


@dataclass(frozen=True)
class CassandraStorage:
    """An existing Cassandra cluster. Retention: the tables' TTL (`trace_ttl`)."""

    servers: tuple[str, ...]
    port: int = 9042
    keyspace: str = "jaeger_v1_dc1"
    datacenter: str = "dc1"
    create_schema: bool = True
    replication_factor: int = 1
    trace_ttl: str = "48h"
    username: str | None = None
    tls: StorageTls = StorageTls(enabled=False)
    kind: Literal["cassandra"] = field(default="cassandra", init=False)
    distributed = True

    @property
    def needs_password(self) -> bool:
        return self.username is not None

    def backend_config(self) -> dict[str, Any]:
        connection: dict[str, Any] = {
            "servers": list(self.servers),
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


JaegerStorage = MemoryStorage | BadgerStorage | SearchStorage | CassandraStorage
