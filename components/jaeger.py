"""Jaeger v2 with a chosen storage backend, outside the mesh.

Memory and Badger live inside one all-in-one process. Elasticsearch, OpenSearch and Cassandra are external
distributed stores, so a separately scaled collector writes to them and a separate query service reads.
"""

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import jaeger_config as cfg
from components import k8s as kube
from components.jaeger_config import Role
from components.jaeger_storage import (
    BADGER_DIR,
    CA_DIR,
    CASSANDRA_PASSWORD_ENV,
    PASSWORD_KEY,
    SECRETS_DIR,
    BadgerStorage,
    CassandraStorage,
    JaegerStorage,
    SearchStorage,
)

DEFAULT_IMAGE = "docker.io/jaegertracing/jaeger:2.20.0"
DEFAULT_INDEX_CLEANER_IMAGE = "docker.io/jaegertracing/jaeger-es-index-cleaner:2.20.0"
IMAGE_USER = 10001
"""The UID both images run as (`USER 10001` in their Dockerfiles)."""
APP = "jaeger"

Resources = Mapping[str, Mapping[str, str]]
SMALL: Resources = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "500m", "memory": "1Gi"},
}
CLEANER_RESOURCES: Resources = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "200m", "memory": "128Mi"},
}


class JaegerArgs(TypedDict):
    storage: JaegerStorage
    """Where traces are kept, with their retention: `MemoryStorage`, `BadgerStorage`, `SearchStorage`
    (Elasticsearch/OpenSearch) or `CassandraStorage`."""
    storage_password: NotRequired[pulumi.Input[str] | None]
    """The store's password (a secret). Required when the storage names a username."""
    namespace: NotRequired[str]
    """Namespace, created with sidecar injection disabled. Default `tracing`."""
    create_namespace: NotRequired[bool]
    image: NotRequired[str]
    """The `jaegertracing/jaeger` image, pinned. Override for a mirror."""
    index_cleaner_image: NotRequired[str]
    """The `jaegertracing/jaeger-es-index-cleaner` image, for Elasticsearch/OpenSearch retention."""
    resources: NotRequired[Resources]
    """All-in-one container resources (memory, Badger)."""
    collector_min_replicas: NotRequired[int]
    """Collector replicas, or the autoscaler's minimum (distributed stores). Two or more adds a PDB."""
    collector_max_replicas: NotRequired[int]
    collector_resources: NotRequired[Resources]
    query_replicas: NotRequired[int]
    query_resources: NotRequired[Resources]
    cluster_domain: NotRequired[str]


class Jaeger(pulumi.ComponentResource):
    """Jaeger v2: OTLP (gRPC 4317, HTTP 4318) and Zipkin (9411) receivers, UI and API on 16686."""

    namespace: pulumi.Output[str]
    """Namespace Jaeger runs in."""
    collector_host: pulumi.Output[str]
    """FQDN of the collector Service, e.g. `jaeger-collector.tracing.svc.cluster.local`."""
    otlp_grpc_port: int
    otlp_http_port: int
    zipkin_port: int
    otlp_grpc_endpoint: pulumi.Output[str]
    """`<collector FQDN>:4317`."""
    otlp_http_endpoint: pulumi.Output[str]
    zipkin_endpoint: pulumi.Output[str]
    query_service_name: pulumi.Output[str]
    """Name of the query (UI and API) Service."""
    query_host: pulumi.Output[str]
    """FQDN of the query Service."""
    query_port: int
    storage_kind: str
    """`memory`, `badger`, `elasticsearch`, `opensearch` or `cassandra`."""

    def __init__(self, name: str, args: JaegerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-tracing:index:Jaeger", name, {}, opts)
        self._name = name
        self._args = args
        self._storage = args["storage"]
        self._domain = args.get("cluster_domain", kube.CLUSTER_DOMAIN)
        self._namespace_name = args.get("namespace", "tracing")
        version = kube.image_tag(args.get("image", DEFAULT_IMAGE))
        self._labels = lambda component: kube.labels(APP, component, version)

        self._namespace = self._create_namespace()
        self._service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=self._metadata(name, "service-account"),
            automount_service_account_token=False,  # Jaeger never calls the Kubernetes API
            opts=self._child(),
        )
        self._credentials = self._create_credentials()
        self._ca = self._create_ca_bundle()

        if self._storage.distributed:
            collector_pods = self._scaled_collector()
            query_pods = self._deployment(
                Role.QUERY,
                args.get("query_replicas", 1),
                args.get("query_resources", SMALL),
                cfg.QUERY_PORTS,
            )
            self._disruption_budget(Role.QUERY, args.get("query_replicas", 1))
            if isinstance(self._storage, SearchStorage):
                self._index_cleaner(self._storage)
        else:
            collector_pods = query_pods = self._deployment(
                Role.ALL_IN_ONE, 1, args.get("resources", SMALL), cfg.COLLECTOR_PORTS + cfg.QUERY_PORTS
            )

        collector = self._service("collector", collector_pods, cfg.COLLECTOR_PORTS)
        query = self._service("query", query_pods, cfg.QUERY_PORTS)

        self.namespace = self._namespace.metadata.name
        self.collector_host = self._fqdn(collector)
        self.otlp_grpc_port, self.otlp_http_port, self.zipkin_port = (
            cfg.OTLP_GRPC_PORT,
            cfg.OTLP_HTTP_PORT,
            cfg.ZIPKIN_PORT,
        )
        self.otlp_grpc_endpoint = pulumi.Output.concat(self.collector_host, f":{self.otlp_grpc_port}")
        self.otlp_http_endpoint = pulumi.Output.concat(self.collector_host, f":{self.otlp_http_port}")
        self.zipkin_endpoint = pulumi.Output.concat(self.collector_host, f":{self.zipkin_port}")
        self.query_service_name = query.metadata.name
        self.query_host = self._fqdn(query)
        self.query_port = cfg.QUERY_HTTP_PORT
        self.storage_kind = self._storage.kind
        self.register_outputs(
            {
                "namespace": self.namespace,
                "collector_host": self.collector_host,
                "otlp_grpc_endpoint": self.otlp_grpc_endpoint,
                "otlp_http_endpoint": self.otlp_http_endpoint,
                "zipkin_endpoint": self.zipkin_endpoint,
                "query_service_name": self.query_service_name,
                "query_host": self.query_host,
                "query_port": self.query_port,
                "storage_kind": self.storage_kind,
            }
        )

    # -- building blocks -------------------------------------------------------------------------

    def _fqdn(self, service: k8s.core.v1.Service) -> pulumi.Output[str]:
        return pulumi.Output.all(service.metadata.name, service.metadata.namespace).apply(
            lambda parts: kube.service_fqdn(parts[0], parts[1], self._domain)
        )

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **options)

    def _metadata(self, name: str, component: str) -> dict[str, Any]:
        # The namespace comes from the Namespace resource, so every object waits for it.
        return {"name": name, "namespace": self._namespace.metadata.name, "labels": self._labels(component)}

    def _create_namespace(self) -> k8s.core.v1.Namespace:
        if not self._args.get("create_namespace", True):
            return k8s.core.v1.Namespace.get(
                f"{self._name}-namespace", self._namespace_name, opts=self._child()
            )
        return k8s.core.v1.Namespace(
            f"{self._name}-namespace",
            # Jaeger stays out of the mesh: its spans would otherwise trace themselves.
            metadata={
                "name": self._namespace_name,
                "labels": {**self._labels("namespace"), "istio-injection": "disabled"},
            },
            # Deleting a namespace deletes its claims, so the namespace of on-cluster trace data is kept too.
            opts=self._child(retain_on_delete=isinstance(self._storage, BadgerStorage)),
        )

    def _create_credentials(self) -> k8s.core.v1.Secret | None:
        if not self._storage.needs_password:
            return None
        password = self._args.get("storage_password")
        if password is None:
            raise ValueError(
                f"{self._storage.kind} storage names a username but no storage_password was given"
            )
        return k8s.core.v1.Secret(
            f"{self._name}-storage-credentials",
            metadata=self._metadata(f"{self._name}-storage-credentials", "credentials"),
            type="Opaque",
            string_data={PASSWORD_KEY: pulumi.Output.secret(password)},
            opts=self._child(),
        )

    def _create_ca_bundle(self) -> k8s.core.v1.ConfigMap | None:
        tls = getattr(self._storage, "tls", None)
        if tls is None or not tls.enabled or not tls.ca_pem:
            return None
        return k8s.core.v1.ConfigMap(
            f"{self._name}-storage-ca",
            metadata=self._metadata(f"{self._name}-storage-ca", "storage-ca"),
            data={"ca.crt": tls.ca_pem},
            opts=self._child(),
        )

    def _volumes(self, role: Role, config_map: k8s.core.v1.ConfigMap) -> tuple[list[Any], list[Any]]:
        """Pod volumes and container mounts: config, a writable /tmp, and what the storage needs."""
        volumes: list[dict[str, Any]] = [
            {"name": "config", "configMap": {"name": config_map.metadata.name}},
            {"name": "tmp", "emptyDir": {}},  # the image declares VOLUME /tmp; the root FS is read-only
        ]
        mounts: list[dict[str, Any]] = [
            {"name": "config", "mountPath": cfg.CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ]
        if self._credentials is not None and isinstance(self._storage, SearchStorage):
            volumes.append({"name": "credentials", "secret": {"secretName": self._credentials.metadata.name}})
            mounts.append({"name": "credentials", "mountPath": SECRETS_DIR, "readOnly": True})
        if self._ca is not None:
            volumes.append({"name": "storage-ca", "configMap": {"name": self._ca.metadata.name}})
            mounts.append({"name": "storage-ca", "mountPath": CA_DIR, "readOnly": True})
        if isinstance(self._storage, BadgerStorage) and role is Role.ALL_IN_ONE:
            claim = self._badger_claim(self._storage)
            volumes.append({"name": "badger", "persistentVolumeClaim": {"claimName": claim.metadata.name}})
            mounts.append({"name": "badger", "mountPath": BADGER_DIR})
        return volumes, mounts

    def _password_env(self) -> list[dict[str, Any]]:
        if self._credentials is None or not isinstance(self._storage, CassandraStorage):
            return []
        return [_secret_env(CASSANDRA_PASSWORD_ENV, self._credentials)]

    def _badger_claim(self, storage: BadgerStorage) -> k8s.core.v1.PersistentVolumeClaim:
        spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": storage.size}},
        }
        if storage.storage_class:
            spec["storageClassName"] = storage.storage_class
        return k8s.core.v1.PersistentVolumeClaim(
            f"{self._name}-badger",
            metadata=self._metadata(f"{self._name}-badger", "storage"),
            spec=spec,
            # Trace data outlives the Deployment and a `pulumi destroy`; delete the claim deliberately.
            opts=self._child(retain_on_delete=True),
        )

    def _deployment(
        self,
        role: Role,
        replicas: int,
        resources: Resources,
        ports: list[tuple[str, int, str]],
    ) -> dict[str, str]:
        """A ConfigMap with the role's config and a hardened Deployment running it. Returns the pod labels."""
        resource_name = f"{self._name}-{role.value}"
        workload = self._name if role is Role.ALL_IN_ONE else resource_name
        document = cfg.render(role, self._storage)
        config_map = k8s.core.v1.ConfigMap(
            f"{resource_name}-config",
            metadata=self._metadata(f"{workload}-config", role.value),
            data={cfg.CONFIG_FILE: yaml.safe_dump(document, sort_keys=False)},
            opts=self._child(),
        )
        volumes, mounts = self._volumes(role, config_map)
        selector = kube.selector_labels(APP, role.value)
        single_node = isinstance(self._storage, BadgerStorage)
        container = {
            "name": "jaeger",
            "image": self._args.get("image", DEFAULT_IMAGE),
            "args": [f"--config={cfg.CONFIG_DIR}/{cfg.CONFIG_FILE}"],
            "ports": kube.container_ports(ports + cfg.HEALTH_PORTS),
            "env": self._password_env(),
            "volumeMounts": mounts,
            "resources": kube.resource_requirements(resources),
            "readinessProbe": kube.http_probe(cfg.HEALTH_PATH, "health", period_seconds=5),
            "livenessProbe": kube.http_probe(cfg.HEALTH_PATH, "health", failure_threshold=6),
            "securityContext": kube.container_security_context(),
        }
        spec: dict[str, Any] = {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            # Badger locks its files: the old pod must stop before the new one opens them.
            "strategy": {"type": "Recreate" if single_node else "RollingUpdate"},
            "template": self._pod_template(
                role.value,
                [container],
                volumes,
                annotations={"checksum/config": kube.config_checksum(document)},
            ),
        }
        k8s.apps.v1.Deployment(
            resource_name, metadata=self._metadata(workload, role.value), spec=spec, opts=self._child()
        )
        return selector

    def _scaled_collector(self) -> dict[str, str]:
        minimum = self._args.get("collector_min_replicas", 1)
        maximum = self._args.get("collector_max_replicas", minimum)
        pods = self._deployment(
            Role.COLLECTOR, minimum, self._args.get("collector_resources", SMALL), cfg.COLLECTOR_PORTS
        )
        if maximum > minimum:
            workload = f"{self._name}-collector"
            autoscaling: dict[str, Any] = {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
                "minReplicas": minimum,
                "maxReplicas": maximum,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 75},
                        },
                    }
                ],
            }
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{workload}-hpa",
                metadata=self._metadata(workload, Role.COLLECTOR.value),
                spec=autoscaling,
                opts=self._child(),
            )
        self._disruption_budget(Role.COLLECTOR, minimum)
        return pods

    def _disruption_budget(self, role: Role, replicas: int) -> None:
        if replicas < 2:
            return  # a budget over one replica would block node drains
        workload = f"{self._name}-{role.value}"
        budget: dict[str, Any] = {
            "maxUnavailable": 1,
            "selector": {"matchLabels": kube.selector_labels(APP, role.value)},
        }
        k8s.policy.v1.PodDisruptionBudget(
            f"{workload}-pdb", metadata=self._metadata(workload, role.value), spec=budget, opts=self._child()
        )

    def _service(
        self, purpose: str, pods: Mapping[str, str], ports: list[tuple[str, int, str]]
    ) -> k8s.core.v1.Service:
        service = f"{self._name}-{purpose}"
        spec: dict[str, Any] = {
            "type": "ClusterIP",
            "selector": dict(pods),
            "ports": kube.service_ports(ports),
        }
        return k8s.core.v1.Service(
            f"{service}-service", metadata=self._metadata(service, purpose), spec=spec, opts=self._child()
        )

    def _index_cleaner(self, storage: SearchStorage) -> None:
        """Deletes daily indices older than the retention, as Jaeger's own `es-index-cleaner` does."""
        workload = f"{self._name}-index-cleaner"
        env: list[dict[str, Any]] = []
        if storage.index_prefix:
            env.append({"name": "INDEX_PREFIX", "value": storage.index_prefix})
        if storage.username and self._credentials is not None:
            env += [
                {"name": "ES_USERNAME", "value": storage.username},
                _secret_env("ES_PASSWORD", self._credentials),
            ]
        mounts: list[dict[str, Any]] = []
        volumes: list[dict[str, Any]] = []
        if storage.tls.enabled and storage.server_urls[0].startswith("https://"):
            env += [
                {"name": "ES_TLS_ENABLED", "value": "true"},
                {"name": "ES_TLS_SKIP_HOST_VERIFY", "value": str(storage.tls.insecure_skip_verify).lower()},
            ]
            if self._ca is not None:
                env.append({"name": "ES_TLS_CA", "value": f"{CA_DIR}/ca.crt"})
                volumes.append({"name": "storage-ca", "configMap": {"name": self._ca.metadata.name}})
                mounts.append({"name": "storage-ca", "mountPath": CA_DIR, "readOnly": True})
        container: dict[str, Any] = {
            "name": "index-cleaner",
            "image": self._args.get("index_cleaner_image", DEFAULT_INDEX_CLEANER_IMAGE),
            # NUM_OF_DAYS and one server URL, as the tool expects.
            "args": [str(storage.retention_days), storage.server_urls[0]],
            "env": env,
            "volumeMounts": mounts,
            "resources": kube.resource_requirements(CLEANER_RESOURCES),
            "securityContext": kube.container_security_context(),
        }
        template = self._pod_template("index-cleaner", [container], volumes)
        template["spec"]["restartPolicy"] = "OnFailure"
        spec: dict[str, Any] = {
            "schedule": storage.cleaner_schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 2, "template": template}},
        }
        k8s.batch.v1.CronJob(
            workload, metadata=self._metadata(workload, "index-cleaner"), spec=spec, opts=self._child()
        )

    def _pod_template(
        self,
        component: str,
        containers: list[dict[str, Any]],
        volumes: list[dict[str, Any]],
        annotations: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A hardened, unmeshed pod running as the images' own non-root user."""
        return {
            "metadata": {
                "labels": {**self._labels(component), **kube.NO_SIDECAR},
                "annotations": dict(annotations or {}),
            },
            "spec": {
                "serviceAccountName": self._service_account.metadata.name,
                "automountServiceAccountToken": False,
                "securityContext": kube.pod_security_context(IMAGE_USER, fs_group=IMAGE_USER),
                "containers": containers,
                "volumes": volumes,
            },
        }


def _secret_env(variable: str, secret: k8s.core.v1.Secret) -> dict[str, Any]:
    return {
        "name": variable,
        "valueFrom": {"secretKeyRef": {"name": secret.metadata.name, "key": PASSWORD_KEY}},
    }
