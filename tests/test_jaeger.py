"""The Jaeger component: configs per storage backend, secrets, shape, retention and hardening."""

import re
from typing import Any

import pulumi
import pytest
import yaml

from mesh_tracing import (
    BadgerStorage,
    CassandraStorage,
    CollectorScale,
    Jaeger,
    JaegerArgs,
    JaegerStorage,
    MemoryStorage,
    ObjectKeyRef,
    QueryScale,
    SearchStorage,
    SpecError,
    StorageKind,
    StorageTls,
)
from mesh_tracing.tooling.recorder import Res, Run, Secret, record, record_expecting_error
from tests.jaeger_schema import (
    BACKENDS,
    CONNECTORS,
    DEPRECATED,
    EXPORTERS,
    EXTENSIONS,
    METRIC_BACKENDS,
    RECEIVERS,
    unknown_keys,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SERVICE = "kubernetes:core/v1:Service"
PASSWORD = "s3cr3t-password"

ELASTICSEARCH = JaegerStorage(
    kind=StorageKind.ELASTICSEARCH,
    elasticsearch=SearchStorage(
        server_urls=["https://es.example.internal:9200"],
        index_prefix="prod",
        username="jaeger",
        retention_days=14,
        tls=StorageTls(ca_pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
    ),
)
OPENSEARCH = JaegerStorage(
    kind=StorageKind.OPENSEARCH, opensearch=SearchStorage(server_urls=["http://opensearch.search:9200"])
)
CASSANDRA = JaegerStorage(
    kind=StorageKind.CASSANDRA,
    cassandra=CassandraStorage(
        servers=["cassandra.db.svc.cluster.local"], username="jaeger", trace_ttl="96h"
    ),
)
STORAGES: dict[str, JaegerStorage] = {
    "memory": JaegerStorage(kind=StorageKind.MEMORY, memory=MemoryStorage(max_traces=20_000)),
    "badger": JaegerStorage(
        kind=StorageKind.BADGER, badger=BadgerStorage(size="5Gi", storage_class="fast-ssd", span_ttl="24h")
    ),
    "elasticsearch": ELASTICSEARCH,
    "opensearch": OPENSEARCH,
    "cassandra": CASSANDRA,
}


def build_jaeger(storage: JaegerStorage, **args: Any) -> Run:
    def program() -> None:
        jaeger = Jaeger("jaeger", JaegerArgs(storage=storage, storage_password=PASSWORD, **args))
        pulumi.export("grpc", jaeger.otlp_grpc_endpoint)
        pulumi.export("http", jaeger.otlp_http_endpoint)
        pulumi.export("zipkin", jaeger.zipkin_endpoint)
        pulumi.export("query", pulumi.Output.concat(jaeger.query_service_name, ":", str(jaeger.query_port)))
        pulumi.export("kind", jaeger.storage_kind)

    return record(program)


def configs(run: Run) -> dict[str, dict[str, Any]]:
    return {
        c.name: yaml.safe_load(c.at("data", "config.yaml"))
        for c in run.of_type(CONFIG_MAP)
        if "config" in c.name
    }


def pod_template(res: Res) -> dict[str, Any]:
    spec = res.at("spec")
    template: dict[str, Any] = (
        spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
    )
    return template


def pod_spec(res: Res) -> dict[str, Any]:
    spec: dict[str, Any] = pod_template(res)["spec"]
    return spec


def assert_consistent(document: dict[str, Any]) -> None:
    """What the collector checks at startup: every referenced component is defined, every connector both
    ends a pipeline and starts one, storage names match, and every key is one Jaeger v2.20 knows."""
    service = document["service"]
    assert set(service["extensions"]) == set(document["extensions"])
    connectors = document.get("connectors", {})
    for name, pipeline in service["pipelines"].items():
        assert set(pipeline["receivers"]) <= set(document["receivers"]) | set(connectors), name
        assert set(pipeline["exporters"]) <= set(document["exporters"]) | set(connectors), name
        assert set(pipeline.get("processors", [])) <= set(document["processors"]), name
    used = [p for p in service["pipelines"].values()]
    for connector in connectors:
        assert any(connector in p["exporters"] for p in used) and any(
            connector in p["receivers"] for p in used
        )
    assert {r for p in used for r in p["receivers"]} - set(connectors) == set(document["receivers"])
    assert {e for p in used for e in p["exporters"]} - set(connectors) == set(document["exporters"])
    storage = document["extensions"]["jaeger_storage"]
    backends = storage["backends"]
    for name, backend in backends.items():
        assert len(backend) == 1, f"backend {name} must have exactly one type"
        (kind,) = backend
        assert unknown_keys(backend[kind], BACKENDS[kind]) == [], f"unknown {kind} keys"
    for name, backend in storage.get("metric_backends", {}).items():
        (kind,) = backend
        assert unknown_keys(backend[kind], METRIC_BACKENDS[kind]) == [], f"unknown metric backend {name} keys"
    for name, extension in document["extensions"].items():
        assert unknown_keys(extension, EXTENSIONS.get(name)) == [], f"unknown {name} keys"
    for name, receiver in document["receivers"].items():
        assert unknown_keys(receiver, RECEIVERS[name]) == [], f"unknown {name} keys"
        assert not {f"receivers.{name}.{key}" for key in receiver or {}} & DEPRECATED, (
            f"deprecated {name} keys"
        )
    for name, connector in connectors.items():
        assert unknown_keys(connector, CONNECTORS[name]) == [], f"unknown {name} keys"
    for name, exporter in document["exporters"].items():
        assert unknown_keys(exporter, EXPORTERS[name]) == [], f"unknown {name} keys"
    if "jaeger_storage_exporter" in document["exporters"]:
        assert document["exporters"]["jaeger_storage_exporter"]["trace_storage"] in backends
    if "jaeger_query" in document["extensions"]:
        query_storage = document["extensions"]["jaeger_query"]["storage"]
        assert query_storage["traces"] in backends
        assert query_storage.get("metrics") in (None, *storage.get("metric_backends", {}))


@pytest.mark.parametrize("kind", STORAGES)
def test_each_storage_kind_renders_a_consistent_config_with_known_keys(kind: str) -> None:
    documents = configs(build_jaeger(STORAGES[kind]))
    assert documents
    for document in documents.values():
        assert_consistent(document)
        (backend,) = document["extensions"]["jaeger_storage"]["backends"].values()
        assert list(backend) == [kind]


@pytest.mark.parametrize("kind", STORAGES)
def test_no_configmap_holds_a_secret(kind: str) -> None:
    run = build_jaeger(STORAGES[kind])
    for config_map in run.of_type(CONFIG_MAP):
        assert PASSWORD not in yaml.safe_dump(config_map.inputs), config_map.name


def test_search_storage_reads_its_password_from_the_mounted_secret() -> None:
    run = build_jaeger(ELASTICSEARCH)
    secret = run.named("jaeger-storage-credentials")
    assert secret.at("stringData") == Secret({"password": PASSWORD})
    collector_config = configs(run)["jaeger-collector-config"]
    basic = collector_config["extensions"]["jaeger_storage"]["backends"]["traces"]["elasticsearch"]["auth"][
        "basic"
    ]
    assert basic == {"username": "jaeger", "password_file": "/etc/jaeger/secrets/password"}
    for deployment in run.of_type(DEPLOYMENT):
        spec = pod_spec(deployment)
        volume = next(v for v in spec["volumes"] if "secret" in v)
        assert volume["secret"]["secretName"] == "jaeger-storage-credentials"
        mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
        assert mount["mountPath"] == "/etc/jaeger/secrets" and mount["readOnly"] is True


def test_cassandra_takes_its_password_from_the_secret_through_the_environment() -> None:
    run = build_jaeger(CASSANDRA)
    config = configs(run)["jaeger-collector-config"]
    connection = config["extensions"]["jaeger_storage"]["backends"]["traces"]["cassandra"]["connection"]
    assert connection["auth"]["basic"]["password"] == "${env:CASSANDRA_PASSWORD}"
    env = pod_spec(run.named("jaeger-collector"))["containers"][0]["env"]
    assert env == [
        {
            "name": "CASSANDRA_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "jaeger-storage-credentials", "key": "password"}},
        }
    ]


def test_a_username_without_a_password_is_refused_before_anything_is_registered() -> None:
    with pytest.raises(SpecError) as refused:
        JaegerArgs(storage=CASSANDRA)
    assert str(refused.value) == (
        "Invalid JaegerArgs (1 problem):\n"
        "  - storage_password: got (not set); allowed: required with storage.cassandra.username"
    )
    # The same spec as a plain map (how the provider for other languages passes it) registers nothing.
    storage = {"kind": StorageKind.CASSANDRA, "cassandra": {"servers": ["cassandra"], "username": "jaeger"}}
    error, registered = record_expecting_error(lambda: Jaeger("jaeger", {"storage": storage}))  # type: ignore[arg-type]
    assert isinstance(error, SpecError) and registered == []
    assert [p.where() for p in error.problems] == ["storage_password"]


@pytest.mark.parametrize("kind", ["elasticsearch", "opensearch", "cassandra"])
def test_distributed_stores_run_a_scaled_collector_and_a_separate_query(kind: str) -> None:
    run = build_jaeger(
        STORAGES[kind], collector=CollectorScale(min_replicas=2, max_replicas=5), query=QueryScale(replicas=2)
    )
    collector, query = run.named("jaeger-collector"), run.named("jaeger-query")
    assert collector.at("spec", "replicas") == 2
    autoscaler = run.named("jaeger-collector-hpa").at("spec")
    assert (autoscaler["minReplicas"], autoscaler["maxReplicas"]) == (2, 5)
    assert autoscaler["scaleTargetRef"]["name"] == collector.at("metadata", "name")
    for workload, service in ((collector, "jaeger-collector-service"), (query, "jaeger-query-service")):
        pods = workload.at("spec", "template", "metadata", "labels")
        selector = run.named(service).at("spec", "selector")
        assert selector.items() <= pods.items(), f"{service} does not select {workload.name}"
        budget = run.named(f"{workload.at('metadata', 'name')}-pdb").at("spec", "selector", "matchLabels")
        assert budget.items() <= pods.items()
    roles = {name: set(doc["service"]["extensions"]) for name, doc in configs(run).items()}
    assert "jaeger_query" not in roles["jaeger-collector-config"]
    assert "jaeger_query" in roles["jaeger-query-config"]
    assert configs(run)["jaeger-query-config"]["receivers"] == {"nop": None}


def test_a_single_collector_gets_neither_autoscaler_nor_disruption_budget() -> None:
    run = build_jaeger(OPENSEARCH)
    assert not run.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert not run.of_type("kubernetes:policy/v1:PodDisruptionBudget")


@pytest.mark.parametrize("kind", ["memory", "badger"])
def test_embedded_stores_run_one_all_in_one_pod_behind_both_services(kind: str) -> None:
    run = build_jaeger(STORAGES[kind])
    (deployment,) = run.of_type(DEPLOYMENT)
    assert deployment.at("spec", "replicas") == 1
    pods = deployment.at("spec", "template", "metadata", "labels")
    for service in run.of_type(SERVICE):
        assert service.at("spec", "selector").items() <= pods.items()
    (document,) = configs(run).values()
    assert {"jaeger_query", "jaeger_storage"} <= set(document["service"]["extensions"])
    assert "otlp" in document["receivers"]


def test_badger_keeps_spans_on_a_retained_claim_with_a_ttl_and_recreate_updates() -> None:
    run = build_jaeger(STORAGES["badger"])
    claim = run.named("jaeger-badger")
    assert claim.at("spec", "resources", "requests", "storage") == "5Gi"
    assert claim.at("spec", "storageClassName") == "fast-ssd"
    assert claim.retain_on_delete is True
    assert run.named("jaeger-namespace").retain_on_delete is True, "deleting the namespace deletes the claim"
    deployment = run.one(DEPLOYMENT)
    assert deployment.at("spec", "strategy", "type") == "Recreate"
    spec = pod_spec(deployment)
    volume = next(v for v in spec["volumes"] if "persistentVolumeClaim" in v)
    assert volume["persistentVolumeClaim"]["claimName"] == "jaeger-badger"
    assert {"name": volume["name"], "mountPath": "/badger"} in spec["containers"][0]["volumeMounts"]
    badger = configs(run)["jaeger-all-in-one-config"]["extensions"]["jaeger_storage"]["backends"]["traces"][
        "badger"
    ]
    assert badger["ttl"]["spans"] == "24h" and badger["ephemeral"] is False
    assert badger["directories"]["keys"].startswith("/badger/")


def test_without_on_cluster_data_the_namespace_is_not_retained() -> None:
    for kind in ("memory", "elasticsearch"):
        assert build_jaeger(STORAGES[kind]).named("jaeger-namespace").retain_on_delete is False, kind


def test_memory_storage_is_bounded_by_max_traces() -> None:
    (document,) = configs(build_jaeger(STORAGES["memory"])).values()
    assert document["extensions"]["jaeger_storage"]["backends"]["traces"] == {
        "memory": {"max_traces": 20_000}
    }


def test_the_index_cleaner_deletes_indices_older_than_the_retention() -> None:
    run = build_jaeger(ELASTICSEARCH)
    cleaner = run.named("jaeger-index-cleaner")
    assert cleaner.at("spec", "schedule") == "55 23 * * *"
    container = pod_spec(cleaner)["containers"][0]
    assert container["image"] == "docker.io/jaegertracing/jaeger-es-index-cleaner:2.20.0"
    assert container["args"] == ["14", "https://es.example.internal:9200"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["INDEX_PREFIX"] == "prod"
    assert env["ES_USERNAME"] == "jaeger"
    assert env["ES_PASSWORD"] == {"secretKeyRef": {"name": "jaeger-storage-credentials", "key": "password"}}
    assert env["ES_TLS_ENABLED"] == "true" and env["ES_TLS_CA"] == "/etc/jaeger/storage-ca/ca.crt"


def test_cassandra_retention_is_the_table_ttl() -> None:
    (document, _) = configs(build_jaeger(CASSANDRA)).values()
    schema = document["extensions"]["jaeger_storage"]["backends"]["traces"]["cassandra"]["schema"]
    assert schema["trace_ttl"] == "96h"
    assert not build_jaeger(CASSANDRA).of_type("kubernetes:batch/v1:CronJob")


def test_a_custom_ca_is_mounted_and_named_in_the_tls_config() -> None:
    run = build_jaeger(ELASTICSEARCH)
    assert run.named("jaeger-storage-ca").at("data", "ca.crt").startswith("-----BEGIN CERTIFICATE-----")
    tls = configs(run)["jaeger-query-config"]["extensions"]["jaeger_storage"]["backends"]["traces"][
        "elasticsearch"
    ]["tls"]
    assert tls == {
        "insecure": False,
        "insecure_skip_verify": False,
        "ca_file": "/etc/jaeger/storage-ca/ca.crt",
    }


@pytest.mark.parametrize("kind", STORAGES)
def test_every_jaeger_pod_is_hardened_and_kept_out_of_the_mesh(kind: str) -> None:
    run = build_jaeger(STORAGES[kind])
    workloads = run.of_type(DEPLOYMENT) + run.of_type("kubernetes:batch/v1:CronJob")
    for workload in workloads:
        spec = pod_spec(workload)
        assert pod_template(workload)["metadata"]["labels"]["sidecar.istio.io/inject"] == "false", (
            workload.name
        )
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, workload.name
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert security["readOnlyRootFilesystem"] is True
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert ":" in container["image"].rsplit("/", 1)[-1] and not container["image"].endswith(":latest")
            if workload.type == DEPLOYMENT:
                assert container["readinessProbe"]["httpGet"] == {"path": "/status", "port": "health"}
                assert container["livenessProbe"]["httpGet"]["path"] == "/status"
    namespace = run.named("jaeger-namespace")
    assert namespace.at("metadata", "labels", "istio-injection") == "disabled"


def test_service_ports_are_named_so_istio_picks_the_protocol() -> None:
    ports = {
        p["port"]: p
        for p in build_jaeger(STORAGES["memory"]).named("jaeger-collector-service").at("spec", "ports")
    }
    assert ports[4317]["name"].startswith("grpc-") and ports[4317]["appProtocol"] == "grpc"
    assert ports[4318]["name"].startswith("http-")
    assert ports[9411]["name"].startswith("http-")


def test_outputs_give_the_collector_fqdn_and_ports_and_the_query_service() -> None:
    run = build_jaeger(STORAGES["badger"], namespace="observability")
    assert run.output("grpc") == "jaeger-collector.observability.svc.cluster.local:4317"
    assert run.output("http") == "jaeger-collector.observability.svc.cluster.local:4318"
    assert run.output("zipkin") == "jaeger-collector.observability.svc.cluster.local:9411"
    assert run.output("query") == "jaeger-query:16686"
    assert run.output("kind") == "badger"


def test_a_config_change_rolls_the_pods() -> None:
    def checksum(max_traces: int) -> str:
        storage = JaegerStorage(kind=StorageKind.MEMORY, memory=MemoryStorage(max_traces=max_traces))
        annotations = build_jaeger(storage).one(DEPLOYMENT).at("spec", "template", "metadata", "annotations")
        return str(annotations["checksum/config"])

    assert checksum(1000) != checksum(2000)


def test_every_object_waits_for_the_namespace() -> None:
    run = build_jaeger(ELASTICSEARCH)
    namespace = run.named("jaeger-namespace")
    component = run.one("mesh-tracing:index:Jaeger")
    for child in run.descendants(component):
        if child is not namespace:
            assert run.waits_for(child, namespace), child.name


def test_query_pods_send_their_own_spans_to_our_collector() -> None:
    """Jaeger traces its query service over OTLP to `OTEL_EXPORTER_OTLP_ENDPOINT`, localhost:4317 by default,
    where a query-only pod has no receiver."""
    run = build_jaeger(OPENSEARCH, namespace="observability")
    (container,) = pod_spec(run.named("jaeger-query"))["containers"]
    collector = run.named("jaeger-collector-service")
    port = int(next(p["port"] for p in collector.at("spec", "ports") if p["name"] == "grpc-otlp"))
    assert container["env"] == [
        {
            "name": "OTEL_EXPORTER_OTLP_ENDPOINT",
            "value": f"http://{collector.at('metadata', 'name')}.observability.svc.cluster.local:{port}",
        }
    ]
    (collector_container,) = pod_spec(run.named("jaeger-collector"))["containers"]
    assert collector_container["env"] == [], "the collector's own receiver is local"


# Jaeger validates each Cassandra server with govalidator's IsURL: a bare single-label host fails it.
IS_URL_HOST = re.compile(
    r"^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9-]+)+|[a-zA-Z0-9-]+:\d+)(:\d+)?$"
)


def test_cassandra_servers_are_rendered_as_jaeger_accepts_them_even_a_bare_host() -> None:
    storage = JaegerStorage(
        kind=StorageKind.CASSANDRA,
        cassandra=CassandraStorage(servers=["cassandra", "cassandra-1.db"], port=9142),
    )
    (document, _) = configs(build_jaeger(storage)).values()
    servers = document["extensions"]["jaeger_storage"]["backends"]["traces"]["cassandra"]["connection"][
        "servers"
    ]
    assert servers == ["cassandra:9142", "cassandra-1.db:9142"]
    assert all(IS_URL_HOST.match(server) for server in servers)
    assert not IS_URL_HOST.match("cassandra"), "the check itself refuses a bare host"


@pytest.mark.parametrize(
    ("tls", "volume"),
    [
        (
            StorageTls(ca_secret=ObjectKeyRef(name="es-ca", key="tls.crt")),
            {
                "name": "storage-ca",
                "secret": {"secretName": "es-ca", "items": [{"key": "tls.crt", "path": "ca.crt"}]},
            },
        ),
        (
            StorageTls(ca_config_map=ObjectKeyRef(name="trust-bundle")),
            {
                "name": "storage-ca",
                "configMap": {"name": "trust-bundle", "items": [{"key": "ca.crt", "path": "ca.crt"}]},
            },
        ),
    ],
)
def test_a_private_ca_can_come_from_a_secret_or_a_configmap(tls: StorageTls, volume: dict[str, Any]) -> None:
    search = SearchStorage(server_urls=["https://es.example.internal:9200"], tls=tls)
    run = build_jaeger(JaegerStorage(kind=StorageKind.ELASTICSEARCH, elasticsearch=search))
    assert not run.of_type(CONFIG_MAP) or "jaeger-storage-ca" not in [c.name for c in run.of_type(CONFIG_MAP)]
    for workload in ("jaeger-collector", "jaeger-query", "jaeger-index-cleaner"):
        spec = pod_spec(run.named(workload))
        assert volume in spec["volumes"], workload
        assert {"name": "storage-ca", "mountPath": "/etc/jaeger/storage-ca", "readOnly": True} in spec[
            "containers"
        ][0]["volumeMounts"]
    tls_config = configs(run)["jaeger-collector-config"]["extensions"]["jaeger_storage"]["backends"][
        "traces"
    ]["elasticsearch"]["tls"]
    assert tls_config["ca_file"] == "/etc/jaeger/storage-ca/ca.crt"


def test_two_ca_sources_are_refused() -> None:
    with pytest.raises(SpecError) as refused:
        StorageTls(ca_pem="-----BEGIN CERTIFICATE-----", ca_secret=ObjectKeyRef(name="es-ca"))
    assert [p.describe() for p in refused.value.problems] == [
        "ca_secret: got (set); allowed: at most one CA source: ca_pem is set"
    ]


METRICS_URL = "http://prometheus.monitoring.svc.cluster.local:80"


@pytest.mark.parametrize("kind", ["memory", "elasticsearch"])
def test_with_a_prometheus_the_monitor_tab_reads_span_metrics_the_collector_exports(kind: str) -> None:
    run = build_jaeger(STORAGES[kind], metrics_url=METRICS_URL)
    documents = configs(run).values()
    for document in documents:
        assert_consistent(document)
    receiving = [d for d in documents if "otlp" in d["receivers"]]
    querying = [d for d in documents if "jaeger_query" in d["extensions"]]
    assert receiving and querying
    for document in receiving:
        pipelines = document["service"]["pipelines"]
        assert "spanmetrics" in pipelines["traces"]["exporters"]
        assert pipelines["metrics/spanmetrics"] == {"receivers": ["spanmetrics"], "exporters": ["prometheus"]}
        assert document["exporters"]["prometheus"] == {"endpoint": "0.0.0.0:8889"}
    for document in querying:
        storage = document["extensions"]["jaeger_storage"]
        assert storage["metric_backends"]["metrics"]["prometheus"]["endpoint"] == METRICS_URL
        assert document["extensions"]["jaeger_query"]["storage"]["metrics"] == "metrics"
    # Prometheus finds the exporter by the container port its target names.
    target_port = "http-spm"
    collectors = [d for d in run.of_type("kubernetes:apps/v1:Deployment") if "query" not in d.name]
    for deployment in collectors:
        (container,) = pod_spec(deployment)["containers"]
        assert {"name": target_port, "containerPort": 8889, "protocol": "TCP"} in container["ports"]


def test_without_a_prometheus_there_is_no_monitor_tab() -> None:
    for document in configs(build_jaeger(STORAGES["memory"])).values():
        assert "connectors" not in document and "prometheus" not in document["exporters"]
        assert "metric_backends" not in document["extensions"]["jaeger_storage"]
