"""Shared Kubernetes building blocks for the workloads this package runs itself.

Objects are plain dicts with Kubernetes' own camelCase field names, so they read like the manifests they
become and tests can assert on the same names.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mesh_tracing.fields import Quantity
from mesh_tracing.spec import Problem, Spec

ISTIO_NETWORKING_API = "networking.istio.io/v1"
ISTIO_SECURITY_API = "security.istio.io/v1"
ISTIO_TELEMETRY_API = "telemetry.istio.io/v1"
CERT_MANAGER_API = "cert-manager.io/v1"

TRUST_DOMAIN = "cluster.local"
"""The mesh trust domain (istiod's default), the first part of every workload identity."""

# Annotations that record a deliberate exception to a policy, with its reason as the value.
SAMPLING_OVERRIDE = "mesh-tracing/sampling-override"
WRITABLE_ROOT_REASON = "mesh-tracing/writable-root-filesystem"
NO_PROBES_REASON = "mesh-tracing/no-probes"
SIDECAR_REVISION = "mesh-tracing/sidecar-revision"
"""Pod-template annotation with the istiod revision a workload's sidecar comes from: changing it restarts
the pods, which is how a workload moves to the revision its tag now points at."""


def sidecar_revision(revision: str | None) -> dict[str, str]:
    """The pod-template annotations for `revision` (none when unknown)."""
    return {SIDECAR_REVISION: revision} if revision else {}


PART_OF = "mesh-tracing"
CLUSTER_DOMAIN = "cluster.local"
NO_SIDECAR = {"sidecar.istio.io/inject": "false"}
"""Pod label that keeps Istio's injector away, whatever the namespace says."""


def selector_labels(name: str, component: str) -> dict[str, str]:
    """The labels a Service or a controller selects pods by; stable for the life of the workload."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def labels(name: str, component: str, version: str | None = None) -> dict[str, str]:
    """Recommended labels for every object: the selector labels plus ownership and version."""
    result = {
        **selector_labels(name, component),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }
    if version:
        result["app.kubernetes.io/version"] = version
    return result


def name_of(resource: Any) -> Any:
    """`metadata.name` of a Kubernetes resource as an Output. Custom resources carry untyped metadata
    (a dict) where built-in kinds carry `ObjectMeta`; this reads both, and orders readers after it."""
    return resource.metadata.apply(lambda meta: meta["name"] if isinstance(meta, dict) else meta.name)


def principal(namespace: str, service_account: str) -> str:
    """The mTLS identity of a workload running as `service_account`, as AuthorizationPolicies name it."""
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


def service_fqdn(name: str, namespace: str, cluster_domain: str = CLUSTER_DOMAIN) -> str:
    return f"{name}.{namespace}.svc.{cluster_domain}"


def port_forward(
    namespace: pulumi.Input[str], service: pulumi.Input[str], local_port: int, service_port: int
) -> pulumi.Output[str]:
    """The `kubectl port-forward` command that puts a Service's port on localhost."""
    return pulumi.Output.format(
        "kubectl -n {0} port-forward svc/{1} {2}:{3}", namespace, service, local_port, service_port
    )


def image_tag(image: str) -> str:
    """The tag of `repository:tag` (or the digest of `repository@sha256:...`)."""
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def pod_security_context(user_id: int, fs_group: int | None = None) -> dict[str, Any]:
    """Non-root pod with the runtime's default seccomp profile."""
    context: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": user_id,
        "runAsGroup": user_id,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if fs_group is not None:
        context["fsGroup"] = fs_group
    return context


def container_security_context(read_only_root: bool = True) -> dict[str, Any]:
    """No privilege escalation, no capabilities, and an immutable root filesystem where the image allows."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def http_probe(
    path: str, port: str | int, period_seconds: int = 10, failure_threshold: int = 3
) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period_seconds,
        "timeoutSeconds": 2,
        "failureThreshold": failure_threshold,
    }


class ComputeQuantities(Spec):
    """CPU and memory quantities."""

    cpu: Quantity
    """CPU, e.g. `100m` or `1`."""
    memory: Quantity
    """Memory, e.g. `256Mi` or `1Gi`."""


class ResourceRequirements(Spec):
    """A container's resource requests and (optional) limits."""

    requests: ComputeQuantities
    """What the scheduler reserves for the container."""
    limits: ComputeQuantities | None = None
    """The most the container may use."""

    def as_kubernetes(self) -> dict[str, dict[str, str]]:
        return self.model_dump(exclude_none=True)


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> ResourceRequirements:
    return ResourceRequirements(
        requests=ComputeQuantities(cpu=cpu, memory=memory),
        limits=ComputeQuantities(cpu=cpu_limit, memory=memory_limit),
    )


def replica_range(min_replicas: int, max_replicas: int) -> list[Problem]:
    """An autoscaler's maximum may not be below its minimum (fields `min_replicas`, `max_replicas`)."""
    if max_replicas >= min_replicas:
        return []
    return [Problem(("max_replicas",), max_replicas, f">= {{0}} ({min_replicas})", (("min_replicas",),))]


def gated(component: pulumi.Resource, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Options for a child that must wait for what the caller made the component wait for.

    `depends_on` on a component means "build this after X", but Pulumi does not pass a parent's dependencies
    to its children. The children that must wait (Istio resources, meshed workloads) take them from here;
    nothing else of the component's options is passed down.
    """
    return pulumi.ResourceOptions(parent=component, depends_on=opts.depends_on if opts else None)


def unmeshed_namespace(
    resource_name: str, name: str, labels: Mapping[str, str], opts: pulumi.ResourceOptions
) -> k8s.core.v1.Namespace:
    """A namespace Istio's injector leaves alone: for what observes the mesh without being part of it."""
    return k8s.core.v1.Namespace(
        resource_name, metadata={"name": name, "labels": {**labels, "istio-injection": "disabled"}}, opts=opts
    )


def config_checksum(document: Any) -> str:
    """A stable hash of a rendered config. Put on the pod template, it rolls pods when the config changes."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]


def service_ports(ports: Sequence[tuple[str, int, str]]) -> list[dict[str, Any]]:
    """Service ports from `(name, port, appProtocol)`. The name's prefix (`grpc-`, `http-`) also tells
    Istio the protocol, for clients in the mesh."""
    return [
        {"name": name, "port": port, "targetPort": name, "protocol": "TCP", "appProtocol": app_protocol}
        for name, port, app_protocol in ports
    ]


def container_ports(ports: Sequence[tuple[str, int, str]]) -> list[dict[str, Any]]:
    return [{"name": name, "containerPort": port, "protocol": "TCP"} for name, port, _ in ports]


def custom_resource(
    resource_name: str,
    api_version: str,
    kind: str,
    name: str,
    namespace: pulumi.Input[str],
    spec: Any,
    opts: pulumi.ResourceOptions,
    annotations: Mapping[str, str] | None = None,
) -> k8s.apiextensions.CustomResource:
    """A namespaced custom resource (Istio, cert-manager)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=api_version,
        kind=kind,
        metadata=metadata,
        spec=spec,
        opts=opts,
    )
