"""Jaeger v2 with a chosen store, outside the mesh.

What the pods need for the store (volumes, environment, a password, a retention job, the update strategy,
whether collector and query run apart) comes from the store's own class in `jaeger_storage`.
"""

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import Field

from mesh_tracing import jaeger_config as cfg
from mesh_tracing import k8s as kube
from mesh_tracing.fields import DnsLabel, HttpUrl, PinnedImage
from mesh_tracing.jaeger_config import Role
from mesh_tracing.jaeger_storage import (
    PASSWORD_KEY,
    JaegerStorage,
    PodStorage,
    StorageRefs,
)
from mesh_tracing.prometheus import PodPortTarget
from mesh_tracing.spec import MISSING, Problem, Spec, secret, wired

TYPE = "mesh-tracing:index:Jaeger"
DEFAULT_IMAGE = "docker.io/jaegertracing/jaeger:2.20.0"
DEFAULT_INDEX_CLEANER_IMAGE = "docker.io/jaegertracing/jaeger-es-index-cleaner:2.20.0"
IMAGE_USER = 10001
"""The UID both images run as (`USER 10001` in their Dockerfiles)."""
APP = "jaeger"
SMALL = kube.resources("100m", "256Mi", "500m", "1Gi")
CLEANER_RESOURCES = kube.resources("50m", "64Mi", "200m", "128Mi")


class CollectorScale(Spec):
    """The collector of a distributed store: replicas and resources."""

    min_replicas: int = Field(1, ge=1, le=50)
    """Replicas, or the autoscaler's minimum when `max_replicas` is higher. Two or more adds a
    PodDisruptionBudget."""
    max_replicas: int = Field(1, ge=1, le=100)
    """The autoscaler's maximum (CPU-based); equal to `min_replicas` means no autoscaler."""
    resources: kube.ResourceRequirements = SMALL
    """Collector container resources."""

    def _rules(self) -> list[Problem]:
        return kube.replica_range(self.min_replicas, self.max_replicas)


class QueryScale(Spec):
    """The query service (UI and API) of a distributed store: replicas and resources."""

    replicas: int = Field(1, ge=1, le=10)
    """Replicas. Two or more adds a PodDisruptionBudget."""
    resources: kube.ResourceRequirements = SMALL
    """Query container resources."""


class JaegerArgs(Spec):
    """Jaeger v2 and where it keeps traces."""

    storage: JaegerStorage
    """Where traces are kept, with their retention."""
    enabled: bool | None = None
    """Whether TracedMesh runs the in-cluster Jaeger; by default only when it is the tracing backend."""
    namespace: DnsLabel = "tracing"
    """Namespace, created with sidecar injection disabled."""
    create_namespace: bool = True
    """Create the namespace, or use one that already exists (read, not managed)."""
    image: PinnedImage = DEFAULT_IMAGE
    """The `jaegertracing/jaeger` image, pinned. Override for a mirror."""
    index_cleaner_image: PinnedImage = DEFAULT_INDEX_CLEANER_IMAGE
    """The `jaegertracing/jaeger-es-index-cleaner` image, for Elasticsearch/OpenSearch retention."""
    resources: kube.ResourceRequirements = SMALL
    """All-in-one container resources (memory, Badger)."""
    collector: CollectorScale = CollectorScale()
    """Collector scale and resources (Elasticsearch, OpenSearch, Cassandra)."""
    query: QueryScale = QueryScale()
    """Query service scale and resources (Elasticsearch, OpenSearch, Cassandra)."""
    storage_password: pulumi.Input[str] | None = secret()
    """The store's password (a secret), required when the store names a user."""
    cluster_domain: str = kube.CLUSTER_DOMAIN
    """The cluster's DNS domain, for the Services' FQDNs."""
    metrics_url: HttpUrl | None = wired(None, "TracedMesh, from Prometheus")
    """A Prometheus that scrapes the collector's span metrics (`span_metrics_target`): with it, the UI's
    Monitor tab shows each service's request rate, errors and latency."""

    def _rules(self) -> list[Problem]:
        chosen = self.storage.chosen
        if chosen is not None and chosen.user() and self.storage_password is None:
            kind = self.storage.kind.value
            return [
                Problem(("storage_password",), MISSING, "required with {0}", (("storage", kind, "username"),))
            ]
        return []


class Jaeger(pulumi.ComponentResource):
    """Jaeger v2: OTLP (gRPC 4317, HTTP 4318) and Zipkin (9411) receivers, UI and API on 16686."""

    namespace: pulumi.Output[str]
    """Namespace Jaeger runs in."""
    collector_host: pulumi.Output[str]
    """FQDN of the collector Service, e.g. `jaeger-collector.tracing.svc.cluster.local`."""
    otlp_grpc_port: int
    """OTLP over gRPC port of the collector Service."""
    otlp_http_port: int
    """OTLP over HTTP port of the collector Service."""
    zipkin_port: int
    """Zipkin port of the collector Service."""
    otlp_grpc_endpoint: pulumi.Output[str]
    """`<collector FQDN>:4317`."""
    otlp_http_endpoint: pulumi.Output[str]
    """`<collector FQDN>:4318`."""
    zipkin_endpoint: pulumi.Output[str]
    """`<collector FQDN>:9411`."""
    query_service_name: pulumi.Output[str]
    """Name of the query (UI and API) Service."""
    query_host: pulumi.Output[str]
    """FQDN of the query Service."""
    query_port: int
    """UI and HTTP API port of the query Service."""
    query_grpc_port: int
    """gRPC API port of the query Service (Kiali reads traces there)."""
    query_url: pulumi.Output[str]
    """`http://<query FQDN>:16686`: the UI and HTTP API (Grafana and the trace check read it)."""
    query_grpc_url: pulumi.Output[str]
    """`http://<query FQDN>:16685`: the gRPC API (Kiali reads traces there)."""
    span_metrics_target: PodPortTarget
    """The pods and port where Prometheus scrapes the span metrics, when `metrics_url` is set."""
    storage_kind: str
    """`memory`, `badger`, `elasticsearch`, `opensearch` or `cassandra`."""

    def __init__(self, name: str, args: JaegerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = JaegerArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        self._name = name
        self._spec = spec
        self._backend = spec.storage.backend
        version = kube.image_tag(spec.image)
        self._labels = lambda component: kube.labels(APP, component, version)

        self._namespace = self._create_namespace()
        self._service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=self._metadata(name, "service-account"),
            automount_service_account_token=False,  # Jaeger never calls the Kubernetes API
            opts=self._child(),
        )
        self._refs = StorageRefs(
            credentials=self._create_credentials(),
            ca_config_map=self._create_ca_bundle(),
        )

        if self._backend.split_roles:
            collector_pods = self._scaled_collector()
            query_pods = self._deployment(
                Role.QUERY, spec.query.replicas, spec.query.resources, cfg.QUERY_PORTS
            )
            self._disruption_budget(Role.QUERY, spec.query.replicas)
            self._retention_job()
        else:
            collector_pods = query_pods = self._deployment(
                Role.ALL_IN_ONE, 1, spec.resources, cfg.COLLECTOR_PORTS + cfg.QUERY_PORTS
            )

        collector = self._service(Role.COLLECTOR, collector_pods, cfg.COLLECTOR_PORTS)
        query = self._service(Role.QUERY, query_pods, cfg.QUERY_PORTS)

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
        self.query_grpc_port = cfg.QUERY_GRPC_PORT
        self.query_url = pulumi.Output.concat("http://", self.query_host, f":{self.query_port}")
        self.query_grpc_url = pulumi.Output.concat("http://", self.query_host, f":{self.query_grpc_port}")
        self.span_metrics_target = PodPortTarget(
            job="jaeger-spanmetrics", namespace=spec.namespace, port_name=cfg.SPAN_METRICS_PORTS[0][0]
        )
        self.storage_kind = spec.storage.kind.value
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
                "query_grpc_port": self.query_grpc_port,
                "query_url": self.query_url,
                "query_grpc_url": self.query_grpc_url,
                "storage_kind": self.storage_kind,
            }
        )

    # -- building blocks -------------------------------------------------------------------------

    def _workload(self, role: Role) -> str:
        """The Deployment's (and its Service's) name: the component's name for all-in-one."""
        return self._name if role is Role.ALL_IN_ONE else f"{self._name}-{role.value}"

    def _fqdn(self, service: k8s.core.v1.Service) -> pulumi.Output[str]:
        return pulumi.Output.all(service.metadata.name, service.metadata.namespace).apply(
            lambda parts: kube.service_fqdn(parts[0], parts[1], self._spec.cluster_domain)
        )

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **options)

    def _metadata(self, name: str, component: str) -> dict[str, Any]:
        # The namespace comes from the Namespace resource, so every object waits for it.
        return {"name": name, "namespace": self._namespace.metadata.name, "labels": self._labels(component)}

    def _create_namespace(self) -> k8s.core.v1.Namespace:
        spec = self._spec
        if not spec.create_namespace:
            return k8s.core.v1.Namespace.get(f"{self._name}-namespace", spec.namespace, opts=self._child())
        # Jaeger stays out of the mesh: its spans would otherwise trace themselves.
        return kube.unmeshed_namespace(
            f"{self._name}-namespace",
            spec.namespace,
            self._labels("namespace"),
            # Deleting a namespace deletes its claims, so the namespace of on-cluster trace data is kept too.
            self._child(retain_on_delete=self._backend.claim() is not None),
        )

    def _create_credentials(self) -> pulumi.Output[str] | None:
        if not self._backend.user() or self._spec.storage_password is None:
            return None
        secret = k8s.core.v1.Secret(
            f"{self._name}-storage-credentials",
            metadata=self._metadata(f"{self._name}-storage-credentials", "credentials"),
            type="Opaque",
            string_data={PASSWORD_KEY: pulumi.Output.secret(self._spec.storage_password)},
            opts=self._child(),
        )
        return secret.metadata.name

    def _create_ca_bundle(self) -> pulumi.Output[str] | None:
        pem = self._backend.inline_ca()
        if not pem:
            return None
        bundle = k8s.core.v1.ConfigMap(
            f"{self._name}-storage-ca",
            metadata=self._metadata(f"{self._name}-storage-ca", "storage-ca"),
            data={"ca.crt": pem},
            opts=self._child(),
        )
        return bundle.metadata.name

    def _pod_storage(self, role: Role) -> PodStorage:
        refs = self._refs
        claim_spec = self._backend.claim()
        if claim_spec is not None and role is Role.ALL_IN_ONE:
            claim = k8s.core.v1.PersistentVolumeClaim(
                f"{self._name}-badger",
                metadata=self._metadata(f"{self._name}-badger", "storage"),
                spec=claim_spec,
                # Trace data outlives the Deployment and a `pulumi destroy`; delete the claim deliberately.
                opts=self._child(retain_on_delete=True),
            )
            refs = StorageRefs(refs.credentials, claim.metadata.name, refs.ca_config_map)
        return self._backend.pod(refs)

    def _deployment(
        self,
        role: Role,
        replicas: int,
        resources: kube.ResourceRequirements,
        ports: list[tuple[str, int, str]],
    ) -> dict[str, str]:
        """A ConfigMap with the role's config and a hardened Deployment running it. Returns the pod labels."""
        resource_name = f"{self._name}-{role.value}"
        workload = self._workload(role)
        document = cfg.render(role, self._spec.storage, self._spec.metrics_url)
        if self._spec.metrics_url and role is not Role.QUERY:
            ports = ports + cfg.SPAN_METRICS_PORTS
        config_map = k8s.core.v1.ConfigMap(
            f"{resource_name}-config",
            metadata=self._metadata(f"{workload}-config", role.value),
            data={cfg.CONFIG_FILE: yaml.safe_dump(document, sort_keys=False)},
            opts=self._child(),
        )
        storage = self._pod_storage(role)
        storage.volumes[:0] = [
            {"name": "config", "configMap": {"name": config_map.metadata.name}},
            {"name": "tmp", "emptyDir": {}},  # the image declares VOLUME /tmp; the root FS is read-only
        ]
        storage.mounts[:0] = [
            {"name": "config", "mountPath": cfg.CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ]
        selector = kube.selector_labels(APP, role.value)
        container = {
            "name": "jaeger",
            "image": self._spec.image,
            "args": [f"--config={cfg.CONFIG_DIR}/{cfg.CONFIG_FILE}"],
            "ports": kube.container_ports(ports + cfg.HEALTH_PORTS),
            "env": storage.env + self._self_tracing_env(role),
            "volumeMounts": storage.mounts,
            "resources": resources.as_kubernetes(),
            "readinessProbe": kube.http_probe(cfg.HEALTH_PATH, "health", period_seconds=5),
            "livenessProbe": kube.http_probe(cfg.HEALTH_PATH, "health", failure_threshold=6),
            "securityContext": kube.container_security_context(),
        }
        spec: dict[str, Any] = {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            # A single-writer store locks its files: the old pod must stop before the new one opens them.
            "strategy": {"type": "Recreate" if self._backend.single_writer else "RollingUpdate"},
            "template": self._pod_template(
                role.value,
                [container],
                storage.volumes,
                annotations={"checksum/config": kube.config_checksum(document)},
            ),
        }
        k8s.apps.v1.Deployment(
            resource_name, metadata=self._metadata(workload, role.value), spec=spec, opts=self._child()
        )
        return selector

    def _self_tracing_env(self, role: Role) -> list[dict[str, Any]]:
        """Jaeger traces its own query service, exporting over OTLP to `OTEL_EXPORTER_OTLP_ENDPOINT`
        (localhost:4317 by default). A query-only pod has no receiver there: send them to our collector."""
        if role is not Role.QUERY:
            return []
        collector = kube.service_fqdn(
            self._workload(Role.COLLECTOR), self._spec.namespace, self._spec.cluster_domain
        )
        return [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": f"http://{collector}:{cfg.OTLP_GRPC_PORT}"}]

    def _scaled_collector(self) -> dict[str, str]:
        scale = self._spec.collector
        pods = self._deployment(Role.COLLECTOR, scale.min_replicas, scale.resources, cfg.COLLECTOR_PORTS)
        if scale.max_replicas > scale.min_replicas:
            workload = self._workload(Role.COLLECTOR)
            autoscaling: dict[str, Any] = {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
                "minReplicas": scale.min_replicas,
                "maxReplicas": scale.max_replicas,
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
        self._disruption_budget(Role.COLLECTOR, scale.min_replicas)
        return pods

    def _disruption_budget(self, role: Role, replicas: int) -> None:
        if replicas < 2:
            return  # a budget over one replica would block node drains
        workload = self._workload(role)
        budget: dict[str, Any] = {
            "maxUnavailable": 1,
            "selector": {"matchLabels": kube.selector_labels(APP, role.value)},
        }
        k8s.policy.v1.PodDisruptionBudget(
            f"{workload}-pdb", metadata=self._metadata(workload, role.value), spec=budget, opts=self._child()
        )

    def _service(
        self, role: Role, pods: Mapping[str, str], ports: list[tuple[str, int, str]]
    ) -> k8s.core.v1.Service:
        """The Service of a role, named like its own Deployment; with all-in-one, both select that one pod."""
        service = self._workload(role)
        spec: dict[str, Any] = {
            "type": "ClusterIP",
            "selector": dict(pods),
            "ports": kube.service_ports(ports),
        }
        return k8s.core.v1.Service(
            f"{service}-service", metadata=self._metadata(service, role.value), spec=spec, opts=self._child()
        )

    def _retention_job(self) -> None:
        """The store's scheduled retention job, if it has one (Elasticsearch/OpenSearch: index cleaner)."""
        job = self._backend.retention_job(self._spec.storage.kind, self._refs)
        if job is None:
            return
        workload = f"{self._name}-index-cleaner"
        container: dict[str, Any] = {
            "name": "index-cleaner",
            "image": self._spec.index_cleaner_image,
            "args": job.args,
            "env": job.env,
            "volumeMounts": job.storage.mounts,
            "resources": CLEANER_RESOURCES.as_kubernetes(),
            "securityContext": kube.container_security_context(),
        }
        template = self._pod_template("index-cleaner", [container], job.storage.volumes)
        template["spec"]["restartPolicy"] = "OnFailure"
        spec: dict[str, Any] = {
            "schedule": job.schedule,
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
