"""Istio's Bookinfo sample in the mesh: four services, six workloads, versioned routing through the gateway.

The apps propagate trace headers themselves (productpage forwards B3, W3C and the other tracers' headers),
so a request through the gateway shows as one trace across all four services.
"""

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mesh_tracing import k8s as kube
from mesh_tracing.fields import DnsLabel, GatewayHost
from mesh_tracing.istio_control_plane import REVISION_LABEL
from mesh_tracing.load_generator import LoadGeneratorArgs
from mesh_tracing.spec import Key, Problem, Spec, wired
from mesh_tracing.trace_check import TraceCheckArgs

TYPE = "mesh-tracing:index:Bookinfo"
PORT = 9080
PRODUCT_PAGE = "productpage"
PRODUCT_PAGE_PATH = "/productpage"
VERSIONS: dict[str, tuple[str, ...]] = {
    PRODUCT_PAGE: ("v1",),
    "details": ("v1",),
    "ratings": ("v1",),
    "reviews": ("v1", "v2", "v3"),
}
"""Bookinfo's services and the versions deployed of each."""
DEFAULT_IMAGE_HUB = "registry.istio.io/release"
DEFAULT_IMAGE_TAG = "1.20.3"
EVEN_REVIEWS_WEIGHTS = {"v1": 34, "v2": 33, "v3": 33}
APP_USER = 1000
"""UID for productpage, details and ratings (their images' files are world-readable)."""
# reviews is WebSphere Liberty: it runs as its image's own non-root user and writes outside the volumes
# the sample mounts, so its root filesystem stays writable.
WRITABLE_ROOT = {"reviews"}
CALLERS = {"details": PRODUCT_PAGE, "reviews": PRODUCT_PAGE, "ratings": "reviews"}
"""Who calls whom inside Bookinfo: what a default-deny namespace must still allow."""
PRODUCT_PAGE_ROUTES = [
    {"uri": {"exact": PRODUCT_PAGE_PATH}},
    {"uri": {"prefix": "/static"}},
    {"uri": {"exact": "/login"}},
    {"uri": {"exact": "/logout"}},
    {"uri": {"prefix": "/api/v1/products"}},
]
SMALL = kube.resources("50m", "64Mi", "500m", "256Mi")
JAVA = kube.resources("100m", "256Mi", "1", "1Gi")


class BookinfoArgs(Spec):
    """Istio's Bookinfo sample, in the mesh and routed through the gateway."""

    enabled: bool = False
    """Whether TracedMesh deploys the sample apps."""
    namespace: DnsLabel = "bookinfo"
    """Namespace, created with the control plane's injection label."""
    host: GatewayHost | None = None
    """Host of the product page on the gateway; TracedMesh uses the gateway's first host when unset."""
    image_hub: str = Field(DEFAULT_IMAGE_HUB, pattern=r"^\S+$")
    """Registry of the `examples-bookinfo-*` images; point at a mirror for air-gapped clusters."""
    image_tag: str = Field(DEFAULT_IMAGE_TAG, pattern=r"^[\w][\w.-]{0,127}$")
    """Tag of the `examples-bookinfo-*` images."""
    replicas: int = Field(1, ge=1, le=10)
    """Replicas of each workload."""
    default_deny: bool = False
    """Deny all traffic in the namespace but Bookinfo's own calls and `product_page_clients`."""
    reviews_weights: dict[str, int] = Field(default_factory=lambda: dict(EVEN_REVIEWS_WEIGHTS))
    """Share of reviews traffic per version (`v1`, `v2`, `v3`), summing to 100."""
    resources: kube.ResourceRequirements = SMALL
    """Container resources of productpage, details and ratings."""
    reviews_resources: kube.ResourceRequirements = JAVA
    """Container resources of the reviews versions (Java)."""
    load_generator: LoadGeneratorArgs = LoadGeneratorArgs()
    """A steady load on the product page, so that traces appear right after `up` (TracedMesh runs it)."""
    trace_check: TraceCheckArgs = TraceCheckArgs()
    """A Job that checks, after each `up`, that the load generator's traces connect (TracedMesh runs it;
    off by default)."""
    revision: pulumi.Input[str] | None = wired(None, "TracedMesh, from the control plane")
    """The istiod revision (or revision tag) whose injector adds the sidecars; the default revision when
    unset."""
    sidecar_revision: str | None = wired(None, "TracedMesh, the revision its tag points at")
    """The istiod revision behind `revision` (a tag), recorded on the pod template: when the tag moves, the
    pods restart and get the new revision's sidecars."""
    gateway: pulumi.Input[str] = wired("istio-ingress/istio-ingressgateway", "TracedMesh, from the gateway")
    """`<namespace>/<name>` of the Istio Gateway the product page is exposed on."""
    product_page_clients: list[pulumi.Input[str]] = wired(
        [], "TracedMesh: the gateway, a meshed load generator"
    )
    """mTLS identities allowed to call the product page under default deny."""

    def _rules(self) -> list[Problem]:
        problems = [
            Problem(("reviews_weights", Key(version)), version, f"one of {', '.join(VERSIONS['reviews'])}")
            for version in self.reviews_weights
            if version not in VERSIONS["reviews"]
        ]
        problems += [
            Problem(("reviews_weights", Key(version)), weight, "between 0 and 100")
            for version, weight in self.reviews_weights.items()
            if not 0 <= weight <= 100
        ]
        total = sum(self.reviews_weights.values())
        if total != 100:
            problems.append(
                Problem(
                    ("reviews_weights",),
                    dict(self.reviews_weights),
                    f"weights summing to 100 (they sum to {total})",
                )
            )
        if self.trace_check.enabled and not self.load_generator.enabled:
            problems.append(
                Problem(
                    ("trace_check", "enabled"),
                    True,
                    "false while {0} is false (it checks that traffic; `make verify` sends its own)",
                    (("load_generator", "enabled"),),
                )
            )
        if self.load_generator.enabled and not self.enabled:
            problems.append(
                Problem(
                    ("load_generator", "enabled"),
                    True,
                    "false while {0} is false (nothing to call)",
                    (("enabled",),),
                )
            )
        return problems


class Bookinfo(pulumi.ComponentResource):
    """Bookinfo's four services in the mesh. Pass a ready istiod (and the mesh Telemetry) in `depends_on`: the
    pods then start with their sidecars, and their first requests are traced."""

    namespace: pulumi.Output[str]
    """The namespace the apps run in."""
    product_page_url_in_mesh: pulumi.Output[str]
    """The product page's URL for clients inside the mesh (the productpage Service)."""
    jaeger_service: pulumi.Output[str]
    """The service name Jaeger shows for the product page: `productpage.<namespace>`."""
    pod_labels: dict[str, dict[str, str]]
    """Pod labels per workload (`reviews-v2`, ...)."""

    def __init__(self, name: str, args: BookinfoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = BookinfoArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        self._name = name
        self._spec = spec
        self._after_mesh = kube.gated(self, opts)
        labels: pulumi.Input[dict[str, str]] = (
            {"istio-injection": "enabled"}
            if spec.revision is None
            else pulumi.Output.from_input(spec.revision).apply(lambda rev: {REVISION_LABEL: rev})
        )
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": spec.namespace, "labels": labels},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = namespace.metadata.name
        self.pod_labels = {}
        services = {}
        accounts = {}
        for app, versions in VERSIONS.items():
            account = accounts[app] = k8s.core.v1.ServiceAccount(
                f"{name}-{app}-sa",
                metadata=self._metadata(f"bookinfo-{app}", app),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for version in versions:
                self._deployment(app, version, account)
            services[app] = k8s.core.v1.Service(
                f"{name}-{app}",
                metadata=self._metadata(app, app),
                spec={
                    "selector": {"app": app},
                    "ports": [{"name": "http", "port": PORT, "targetPort": PORT, "protocol": "TCP"}],
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
        self._routing()
        if spec.default_deny:
            self._default_deny(accounts)
        product_page = services[PRODUCT_PAGE]
        self.product_page_url_in_mesh = pulumi.Output.all(product_page.metadata.name, self.namespace).apply(
            lambda parts: f"http://{kube.service_fqdn(parts[0], parts[1])}:{PORT}{PRODUCT_PAGE_PATH}"
        )
        self.jaeger_service = pulumi.Output.concat(product_page.metadata.name, ".", self.namespace)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "jaeger_service": self.jaeger_service,
                "product_page_url_in_mesh": self.product_page_url_in_mesh,
            }
        )

    def _metadata(self, name: str, app: str) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": {**kube.labels(app, "bookinfo"), "app": app},
        }

    def _deployment(self, app: str, version: str, account: k8s.core.v1.ServiceAccount) -> None:
        spec = self._spec
        image = f"{spec.image_hub}/examples-bookinfo-{app}-{version}:{spec.image_tag}"
        selector = {"app": app, "version": version}
        self.pod_labels[f"{app}-{version}"] = {**kube.labels(app, "bookinfo", version), **selector}
        volumes = [{"name": "tmp", "emptyDir": {}}]
        mounts = [{"name": "tmp", "mountPath": "/tmp"}]
        env = []
        if app == "reviews":
            volumes.append({"name": "wlp-output", "emptyDir": {}})
            mounts.append({"name": "wlp-output", "mountPath": "/opt/ibm/wlp/output"})
            env.append({"name": "LOG_DIR", "value": "/tmp/logs"})
        writable_root = app in WRITABLE_ROOT
        container = {
            "name": app,
            "image": image,
            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
            "env": env,
            "volumeMounts": mounts,
            "resources": (spec.reviews_resources if app == "reviews" else spec.resources).as_kubernetes(),
            "readinessProbe": kube.http_probe("/health", "http", period_seconds=5),
            "livenessProbe": kube.http_probe("/health", "http", failure_threshold=6),
            "securityContext": kube.container_security_context(read_only_root=not writable_root),
        }
        pod_security = kube.pod_security_context(APP_USER, fs_group=APP_USER)
        if writable_root:
            for key in ("runAsUser", "runAsGroup"):
                pod_security.pop(key)  # keep the image's own non-root user
        deployment: dict[str, Any] = {
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": self.pod_labels[f"{app}-{version}"],
                    "annotations": kube.sidecar_revision(spec.sidecar_revision),
                },
                "spec": {
                    "serviceAccountName": account.metadata.name,
                    "securityContext": pod_security,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        }
        metadata = self._metadata(f"{app}-{version}", app)
        if writable_root:
            metadata["annotations"] = {
                kube.WRITABLE_ROOT_REASON: "WebSphere Liberty writes outside the volumes the sample mounts"
            }
        k8s.apps.v1.Deployment(
            f"{self._name}-{app}-{version}",
            metadata=metadata,
            spec=deployment,
            # Started before istiod is ready, a pod runs without a sidecar until it restarts.
            opts=self._after_mesh,
        )

    def _routing(self) -> None:
        """A DestinationRule per service with a subset per version, the product page on the gateway, and
        weighted reviews versions."""
        spec = self._spec

        def istio(kind: str, resource_name: str, name: str, resource_spec: Any) -> None:
            kube.custom_resource(
                resource_name,
                kube.ISTIO_NETWORKING_API,
                kind,
                name,
                self.namespace,
                resource_spec,
                self._after_mesh,
            )

        for app, versions in VERSIONS.items():
            istio(
                "DestinationRule",
                f"{self._name}-{app}-subsets",
                app,
                {"host": app, "subsets": [{"name": v, "labels": {"version": v}} for v in versions]},
            )
        istio(
            "VirtualService",
            f"{self._name}-{PRODUCT_PAGE}-route",
            "productpage-gateway",
            {
                "hosts": [spec.host or "*"],
                "gateways": [spec.gateway],
                "http": [
                    {
                        "match": PRODUCT_PAGE_ROUTES,
                        "route": [
                            {"destination": {"host": "productpage", "subset": "v1", "port": {"number": PORT}}}
                        ],
                    }
                ],
            },
        )
        weights = spec.reviews_weights
        istio(
            "VirtualService",
            f"{self._name}-reviews-route",
            "reviews",
            {
                "hosts": ["reviews"],
                "http": [
                    {
                        "route": [
                            {
                                "destination": {"host": "reviews", "subset": version},
                                "weight": weights.get(version, 0),
                            }
                            for version in VERSIONS["reviews"]
                        ]
                    }
                ],
            },
        )

    def _default_deny(self, accounts: Mapping[str, k8s.core.v1.ServiceAccount]) -> None:
        """An allow-nothing policy for the namespace, then one ALLOW per service for its known callers."""

        def policy(resource_name: str, name: str, spec: Any) -> None:
            kube.custom_resource(
                resource_name,
                kube.ISTIO_SECURITY_API,
                "AuthorizationPolicy",
                name,
                self.namespace,
                spec,
                self._after_mesh,
            )

        def identity(app: str) -> pulumi.Output[str]:
            return pulumi.Output.all(self.namespace, accounts[app].metadata.name).apply(
                lambda parts: kube.principal(parts[0], parts[1])
            )

        policy(f"{self._name}-deny-all", "deny-all", {})
        callers: dict[str, list[pulumi.Input[str]]] = {
            PRODUCT_PAGE: list(self._spec.product_page_clients),
            **{app: [identity(caller)] for app, caller in CALLERS.items()},
        }
        for app, principals in callers.items():
            policy(
                f"{self._name}-allow-{app}",
                f"allow-{app}",
                {
                    "selector": {"matchLabels": {"app": app}},
                    "action": "ALLOW",
                    "rules": [
                        {
                            "from": [{"source": {"principals": principals}}],
                            "to": [{"operation": {"ports": [str(PORT)]}}],
                        }
                    ],
                },
            )
