"""The trace check as an in-cluster Job (off by default): the same checks as `make verify`, run next to
Jaeger after each `up`. Its result is the Job's status (Complete or Failed) and its log."""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mesh_tracing import k8s as kube
from mesh_tracing.fields import PinnedImage
from mesh_tracing.spec import Spec, wired
from mesh_tracing.tooling import trace_checks

TYPE = "mesh-tracing:index:TraceCheck"
DEFAULT_IMAGE = "docker.io/library/python:3.12.7-slim"
"""Any Python 3.11+ runs the check: it needs only the standard library."""
SCRIPT = Path(trace_checks.__file__).name
NOBODY = 65534


class TraceCheckArgs(Spec):
    """The trace check Job: proof, in the cluster, that the traces of the load generator's traffic connect."""

    enabled: bool = False
    """Run the check Job (TracedMesh runs it with Bookinfo's load generator)."""
    image: PinnedImage = DEFAULT_IMAGE
    """A Python image, pinned; override for a mirror."""
    window_seconds: int = Field(120, ge=30, le=3600)
    """Seconds of traffic the check looks at."""
    wait_seconds: int = Field(300, ge=0, le=3600)
    """Seconds it waits for a first complete trace before it reports."""
    namespace: pulumi.Input[str] = wired("bookinfo", "TracedMesh, Bookinfo's namespace")
    """Where the Job runs (Bookinfo's namespace, without a sidecar)."""
    jaeger_url: pulumi.Input[str] = wired(
        "http://jaeger-query.tracing.svc.cluster.local:16686", "TracedMesh, from Jaeger"
    )
    """Jaeger's query API in the cluster."""
    sampling_percentage: float = wired(100.0, "TracedMesh, from the tracing settings")
    """The mesh's sampling rate."""
    requests_per_second: float = wired(1.0, "TracedMesh, from the load generator")
    """The load generator's rate."""
    tags: dict[str, str | None] = wired({}, "TracedMesh, from the tracing settings")
    """Tags every sidecar span carries: a value, or None for any value."""


class TraceCheck(pulumi.ComponentResource):
    """A Job that checks the traces with `mesh_tracing.tooling.trace_checks`, mounted from a ConfigMap.
    `pulumi up` does not wait for it: read `kubectl -n <namespace> logs job/trace-check`."""

    job_name: str
    """The Job's name."""

    def __init__(self, name: str, args: TraceCheckArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = TraceCheckArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        after = kube.gated(self, opts)
        labels = kube.labels("trace-check", "check")
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata={"name": name, "namespace": spec.namespace, "labels": labels},
            data={SCRIPT: Path(trace_checks.__file__).read_text()},
            opts=after,
        )
        arguments = [
            f"--sampling={spec.sampling_percentage:g}",
            f"--rate={spec.requests_per_second:g}",
            f"--window={spec.window_seconds}",
            f"--wait={spec.wait_seconds}",
            *(
                f"--tag={key}" if value is None else f"--tag={key}={value}"
                for key, value in sorted(spec.tags.items())
            ),
        ]
        container = {
            "name": "check",
            "image": spec.image,
            "command": ["python", f"/check/{SCRIPT}"],
            "args": pulumi.Output.all(spec.namespace, spec.jaeger_url).apply(
                lambda where: [f"--namespace={where[0]}", f"--jaeger={where[1]}", *arguments]
            ),
            "volumeMounts": [{"name": "script", "mountPath": "/check", "readOnly": True}],
            "resources": kube.resources("10m", "32Mi", "200m", "128Mi").as_kubernetes(),
            "securityContext": kube.container_security_context(),
        }
        self.job_name = name
        k8s.batch.v1.Job(
            f"{name}-job",
            metadata={
                "name": name,
                "namespace": spec.namespace,
                "labels": labels,
                # Its result is its status; `up` does not wait for a check that may take minutes.
                "annotations": {"pulumi.com/skipAwait": "true"},
            },
            spec={
                "backoffLimit": 0,
                "activeDeadlineSeconds": spec.wait_seconds + spec.window_seconds + 120,
                "ttlSecondsAfterFinished": 86400,
                "template": {
                    "metadata": {"labels": {**labels, **kube.NO_SIDECAR}},
                    "spec": {
                        "restartPolicy": "Never",
                        "automountServiceAccountToken": False,
                        "securityContext": kube.pod_security_context(NOBODY),
                        "containers": [container],
                        "volumes": [{"name": "script", "configMap": {"name": script.metadata.name}}],
                    },
                },
            },
            # A Job's template cannot change: each new check is a new Job.
            opts=pulumi.ResourceOptions.merge(
                after, pulumi.ResourceOptions(delete_before_replace=True, depends_on=[script])
            ),
        )
        self.register_outputs({"job_name": self.job_name})
