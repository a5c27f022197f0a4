"""The policy pack's checks, as plain functions over the stack's resources, so tests can run them on the
rendered plans and the pack on a real preview.

A real preview shows the objects a Helm chart renders (the gateway's Service, istiod's budget); the
offline plans show the charts' values instead. Checks that concern chart-rendered objects accept either.
"""

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from mesh_tracing import k8s as kube
from mesh_tracing.jaeger_config import QUERY_HTTP_PORT
from mesh_tracing.settings.environments import (
    ANONYMOUS_GRAFANA_RULE,
    ANONYMOUS_KIALI_RULE,
    MAX_PROD_SAMPLING,
    PROD_SAMPLING_RULE,
)

PROD = "prod"
DEV = "dev"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
BATCH_KINDS = ("Job", "CronJob")


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    def get(self, *path: str | int, default: Any = None) -> Any:
        value: Any = self.props
        for step in path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return default
        return default if value is None else value


Rule = Callable[[list[Resource], str], list[str]]


def _of_kind(resources: Iterable[Resource], *kinds: str) -> Iterator[Resource]:
    return (r for r in resources if r.kind in kinds and r.type.startswith("kubernetes:"))


def _chart(resources: Iterable[Resource], chart: str) -> Iterator[Resource]:
    """Helm charts of `chart` (by chart name or OCI URL) with their values, as the plans show them."""
    for r in resources:
        name = str(r.get("chart", default=""))
        if r.type == "kubernetes:helm.sh/v4:Chart" and (name == chart or name.endswith(f"/{chart}")):
            yield r


def _pod_template(workload: Resource) -> Mapping[str, Any]:
    spec = workload.get("spec", default={})
    template = (
        spec.get("jobTemplate", {}).get("spec", {}).get("template")
        if workload.kind == "CronJob"
        else spec.get("template")
    )
    return template or {}


def _owned(workload: Resource) -> bool:
    return workload.get("metadata", "labels", "app.kubernetes.io/part-of") == kube.PART_OF


def _exception(workload: Resource, annotation: str) -> bool:
    return bool(str(workload.get("metadata", "annotations", annotation, default="")).strip())


def _pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return bool(tag) and tag != "latest"


def hardened_workloads(resources: list[Resource], environment: str) -> list[str]:
    """Our own containers: non-root, no privilege escalation, no capabilities, read-only root filesystem
    (unless an annotation gives the reason), RuntimeDefault seccomp, requests and limits, probes (not for
    batch jobs, or with a reason), and a pinned image."""
    problems = []
    for workload in (w for w in _of_kind(resources, *WORKLOAD_KINDS) if _owned(w)):
        pod = _pod_template(workload).get("spec", {})
        pod_security = pod.get("securityContext") or {}
        for container in pod.get("containers", []):
            where = f"{workload.kind} {workload.name}, container {container.get('name')}"
            security = container.get("securityContext") or {}
            # A container setting wins over the pod's, as in Kubernetes.
            effective = {**pod_security, **{k: v for k, v in security.items() if v is not None}}
            if effective.get("runAsNonRoot") is not True:
                problems.append(f"{where}: must set runAsNonRoot")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: must set allowPrivilegeEscalation: false")
            if "ALL" not in (security.get("capabilities") or {}).get("drop", []):
                problems.append(f"{where}: must drop ALL capabilities")
            if security.get("readOnlyRootFilesystem") is not True and not _exception(
                workload, kube.WRITABLE_ROOT_REASON
            ):
                problems.append(
                    f"{where}: needs a read-only root filesystem (or {kube.WRITABLE_ROOT_REASON})"
                )
            if (effective.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
                problems.append(f"{where}: needs the RuntimeDefault seccomp profile")
            resources_ = container.get("resources") or {}
            if not resources_.get("requests") or not resources_.get("limits"):
                problems.append(f"{where}: needs resource requests and limits")
            probed = container.get("readinessProbe") and container.get("livenessProbe")
            if (
                workload.kind not in BATCH_KINDS
                and not probed
                and not _exception(workload, kube.NO_PROBES_REASON)
            ):
                problems.append(f"{where}: needs readiness and liveness probes (or {kube.NO_PROBES_REASON})")
            if not _pinned(str(container.get("image", ""))):
                problems.append(f"{where}: image {container.get('image')!r} is not pinned to a tag or digest")
    return problems


def no_load_balancer_in_dev(resources: list[Resource], environment: str) -> list[str]:
    if environment != DEV:
        return []
    problems = [
        f"Service {s.name} is a LoadBalancer"
        for s in _of_kind(resources, "Service")
        if s.get("spec", "type") == "LoadBalancer"
    ]
    problems += [
        f"chart {c.name} exposes a LoadBalancer"
        for c in _chart(resources, "gateway")
        if c.get("values", "service", "type") == "LoadBalancer"
    ]
    return problems


def _jaeger_backends(config_map: Resource) -> Iterator[str]:
    text = config_map.get("data", "config.yaml")
    try:
        document = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        return
    backends = (((document or {}).get("extensions") or {}).get("jaeger_storage") or {}).get("backends") or {}
    for backend in backends.values():
        yield from backend


def no_memory_storage_in_prod(resources: list[Resource], environment: str) -> list[str]:
    if environment != PROD:
        return []
    return [
        f"ConfigMap {c.name}: Jaeger stores traces in memory, losing them on every restart"
        for c in _of_kind(resources, "ConfigMap")
        if "memory" in set(_jaeger_backends(c))
    ]


def sampling_in_prod(resources: list[Resource], environment: str) -> list[str]:
    if environment != PROD:
        return []
    problems = []
    for telemetry in _of_kind(resources, "Telemetry"):
        if _exception(telemetry, kube.SAMPLING_OVERRIDE):
            continue
        for rule in telemetry.get("spec", "tracing", default=[]):
            if float(rule.get("randomSamplingPercentage", 0)) > MAX_PROD_SAMPLING:
                problems.append(
                    f"Telemetry {telemetry.name} samples {rule['randomSamplingPercentage']} %; allowed: "
                    f"{PROD_SAMPLING_RULE}"
                )
    return problems


def _covers(hosts: Iterable[str], host: str) -> bool:
    return any(h == host or h == "*" or (h.startswith("*.") and host.endswith(h[1:])) for h in hosts)


def jaeger_ui_protected(resources: list[Resource], environment: str) -> list[str]:
    """A gateway route to Jaeger's UI needs TLS on that host and a DENY policy for sources outside an
    allowlist: Jaeger has no authentication of its own."""
    problems = []
    gateways = {
        f"{g.get('metadata', 'namespace')}/{g.get('metadata', 'name')}": g
        for g in _of_kind(resources, "Gateway")
    }
    policies = [p for p in _of_kind(resources, "AuthorizationPolicy") if p.get("spec", "action") == "DENY"]
    for route in _of_kind(resources, "VirtualService"):
        destinations = [
            d.get("destination", {})
            for http in route.get("spec", "http", default=[])
            for d in http.get("route", [])
        ]
        if not any((d.get("port") or {}).get("number") == QUERY_HTTP_PORT for d in destinations):
            continue
        for host in route.get("spec", "hosts", default=[]):
            for gateway_ref in route.get("spec", "gateways", default=[]):
                gateway = gateways.get(gateway_ref)
                servers = gateway.get("spec", "servers", default=[]) if gateway else []
                if not any(
                    _covers(s.get("hosts", []), host) and (s.get("tls") or {}).get("credentialName")
                    for s in servers
                ):
                    problems.append(
                        f"VirtualService {route.name}: Jaeger UI host {host} is served without TLS on {gateway_ref}"
                    )
                selector = (gateway.get("spec", "selector") if gateway else None) or {}
                guarded = any(
                    (p.get("spec", "selector", "matchLabels") or {}) == selector
                    and any(
                        host
                        in [
                            h for t in rule.get("to", []) for h in (t.get("operation") or {}).get("hosts", [])
                        ]
                        and any(
                            (f.get("source") or {}).get("notRemoteIpBlocks") for f in rule.get("from", [])
                        )
                        for rule in p.get("spec", "rules", default=[])
                    )
                    for p in policies
                )
                if not guarded:
                    problems.append(
                        f"VirtualService {route.name}: Jaeger UI host {host} has no source-IP allowlist"
                    )
    return problems


def _budget_selects(resources: list[Resource], labels: Mapping[str, str]) -> bool:
    return any(
        (b.get("spec", "selector", "matchLabels") or {}).items() <= labels.items()
        and b.get("spec", "selector", "matchLabels")
        for b in _of_kind(resources, "PodDisruptionBudget")
    )


def disruption_budgets_in_prod(resources: list[Resource], environment: str) -> list[str]:
    if environment != PROD:
        return []
    problems = []
    for istiod in _chart(resources, "istiod"):
        values = istiod.get("values", default={})
        chart_budget = (values.get("global") or {}).get("defaultPodDisruptionBudget", {}).get("enabled") and (
            values.get("autoscaleMin", 1) > 1
            if values.get("autoscaleEnabled")
            else values.get("replicaCount", 1) > 1
        )
        if not (chart_budget or _budget_selects(resources, {"app": "istiod"})):
            problems.append(f"istiod ({istiod.name}) has no PodDisruptionBudget")
    for gateway in _chart(resources, "gateway"):
        values = gateway.get("values", default={})
        labels = values.get("labels") or {}
        if not (values.get("podDisruptionBudget") or _budget_selects(resources, labels)):
            problems.append(f"gateway ({gateway.name}) has no PodDisruptionBudget")
    for collector in _of_kind(resources, "Deployment"):
        labels = _pod_template(collector).get("metadata", {}).get("labels", {})
        if labels.get("app.kubernetes.io/component") == "collector" and not _budget_selects(
            resources, labels
        ):
            problems.append(f"Jaeger collector {collector.name} has no PodDisruptionBudget")
    return problems


def strict_mtls_in_prod(resources: list[Resource], environment: str) -> list[str]:
    if environment != PROD:
        return []
    strict = [
        p
        for p in _of_kind(resources, "PeerAuthentication")
        if not p.get("spec", "selector") and p.get("spec", "mtls", "mode") == "STRICT"
    ]
    return [] if strict else ["no mesh-wide PeerAuthentication with mtls mode STRICT"]


def _anonymous_grafana_ini(text: str) -> bool:
    section = re.search(r"^\[auth\.anonymous\]$(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    return bool(section and re.search(r"^enabled\s*=\s*true\s*$", section.group(1), re.MULTILINE))


def people_log_in_in_prod(resources: list[Resource], environment: str) -> list[str]:
    """No anonymous Grafana or Kiali in prod: on the plans, the charts' values; in a real preview, the
    config the charts render (Grafana's `grafana.ini`, Kiali's `config.yaml`)."""
    if environment != PROD:
        return []
    problems = []
    for grafana in _chart(resources, "grafana"):
        if grafana.get("values", "grafana.ini", "auth.anonymous", "enabled"):
            problems.append(
                f"Grafana ({grafana.name}) admits anonymous users; allowed: {ANONYMOUS_GRAFANA_RULE}"
            )
    for kiali in _chart(resources, "kiali-server"):
        if kiali.get("values", "auth", "strategy") == "anonymous":
            problems.append(
                f"Kiali ({kiali.name}) uses the anonymous strategy; allowed: {ANONYMOUS_KIALI_RULE}"
            )
    for config_map in _of_kind(resources, "ConfigMap"):
        data = config_map.get("data", default={})
        if _anonymous_grafana_ini(str(data.get("grafana.ini", ""))):
            problems.append(f"ConfigMap {config_map.name}: Grafana admits anonymous users")
        config = yaml.safe_load(str(data.get("config.yaml", ""))) or {}
        if isinstance(config, dict) and (config.get("auth") or {}).get("strategy") == "anonymous":
            problems.append(f"ConfigMap {config_map.name}: Kiali uses the anonymous strategy")
    return problems


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    check: Rule


POLICIES = [
    Policy("hardened-workloads", "Project-owned containers are hardened and pinned.", hardened_workloads),
    Policy(
        "no-load-balancer-in-dev",
        "Dev exposes nothing through a cloud load balancer.",
        no_load_balancer_in_dev,
    ),
    Policy("no-memory-storage-in-prod", "Prod keeps traces in a durable store.", no_memory_storage_in_prod),
    Policy("sampling-in-prod", f"Prod samples {PROD_SAMPLING_RULE}.", sampling_in_prod),
    Policy(
        "jaeger-ui-protected",
        "The Jaeger UI is never on a gateway without TLS and an allowlist.",
        jaeger_ui_protected,
    ),
    Policy(
        "disruption-budgets-in-prod",
        "istiod, the gateway and the Jaeger collector have PDBs in prod.",
        disruption_budgets_in_prod,
    ),
    Policy("strict-mtls-in-prod", "Prod requires mutual TLS mesh-wide.", strict_mtls_in_prod),
    Policy("people-log-in-in-prod", "Grafana and Kiali know who is looking in prod.", people_log_in_in_prod),
]
