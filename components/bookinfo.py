"""Istio's Bookinfo sample in the mesh: four services, six workloads, versioned routing through the gateway.

The apps propagate trace headers themselves (productpage forwards B3, W3C and the other tracers' headers),
so a request through the gateway shows as one trace across all four services.
"""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import k8s as kube

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

Resources = Mapping[str, Mapping[str, str]]
SMALL: Resources = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
JAVA: Resources = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


class BookinfoArgs(TypedDict):
    injection_labels: pulumi.Input[Mapping[str, str]]
    """The control plane's injection labels: every Bookinfo pod gets a sidecar."""
    mesh_ready: Sequence[pulumi.Resource]
    """What the workloads wait for: a ready istiod (sidecars from the first pod) and the mesh Telemetry
    (traces from the first request)."""
    gateway: pulumi.Input[str]
    """`<namespace>/<name>` of the Istio Gateway the product page is exposed on."""
    host: str
    """Host of the product page on the gateway."""
    namespace: NotRequired[str]
    image_hub: NotRequired[str]
    """Registry of the `examples-bookinfo-*` images; override for a mirror."""
    image_tag: NotRequired[str]
    replicas: NotRequired[int]
    reviews_weights: NotRequired[Mapping[str, int]]
    """Share of reviews traffic per version (`v1`, `v2`, `v3`), summing to 100. Default: even."""
    resources: NotRequired[Resources]
    reviews_resources: NotRequired[Resources]
    default_deny: NotRequired[bool]
    """Deny all traffic in the namespace except Bookinfo's own calls and `product_page_clients`."""
    product_page_clients: NotRequired[Sequence[pulumi.Input[str]]]
    """mTLS identities allowed to call the product page under default deny (the gateway, a meshed load
    generator)."""


class Bookinfo(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    product_page_url_in_mesh: pulumi.Output[str]
    """The product page's URL for clients inside the mesh (the productpage Service)."""
    jaeger_service: pulumi.Output[str]
    """The service name Jaeger shows for the product page: `productpage.<namespace>`."""
    pod_labels: dict[str, dict[str, str]]
    """Pod labels per workload (`reviews-v2`, ...)."""

    def __init__(self, name: str, args: BookinfoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-tracing:index:Bookinfo", name, {}, opts)
        self._name = name
        self._args = args
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": args.get("namespace", "bookinfo"), "labels": args["injection_labels"]},
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
        if args.get("default_deny", False):
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
        args = self._args
        image = f"{args.get('image_hub', DEFAULT_IMAGE_HUB)}/examples-bookinfo-{app}-{version}:{args.get('image_tag', DEFAULT_IMAGE_TAG)}"
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
            "resources": kube.resource_requirements(
                args.get("reviews_resources", JAVA) if app == "reviews" else args.get("resources", SMALL)
            ),
            "readinessProbe": kube.http_probe("/health", "http", period_seconds=5),
            "livenessProbe": kube.http_probe("/health", "http", failure_threshold=6),
            "securityContext": kube.container_security_context(read_only_root=not writable_root),
        }
        pod_security = kube.pod_security_context(APP_USER, fs_group=APP_USER)
        if writable_root:
            for key in ("runAsUser", "runAsGroup"):
                pod_security.pop(key)  # keep the image's own non-root user
        spec: dict[str, Any] = {
            "replicas": args.get("replicas", 1),
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": self.pod_labels[f"{app}-{version}"]},
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
            spec=spec,
            # Started before istiod is ready, a pod runs without a sidecar until it restarts.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args["mesh_ready"])),
        )

    def _routing(self) -> None:
        """A DestinationRule per service with a subset per version, the product page on the gateway, and
        weighted reviews versions."""
        args = self._args
        after_mesh = pulumi.ResourceOptions(parent=self, depends_on=list(args["mesh_ready"]))

        def istio(kind: str, resource_name: str, name: str, spec: Any) -> None:
            kube.custom_resource(
                resource_name, kube.ISTIO_NETWORKING_API, kind, name, self.namespace, spec, after_mesh
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
                "hosts": [args["host"]],
                "gateways": [args["gateway"]],
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
        weights = args.get("reviews_weights", EVEN_REVIEWS_WEIGHTS)
        if set(weights) - set(VERSIONS["reviews"]) or sum(weights.values()) != 100:
            raise ValueError(
                f"reviews weights must name only {VERSIONS['reviews']} and sum to 100: {weights}"
            )
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
        after_mesh = pulumi.ResourceOptions(parent=self, depends_on=list(self._args["mesh_ready"]))

        def policy(resource_name: str, name: str, spec: Any) -> None:
            kube.custom_resource(
                resource_name,
                kube.ISTIO_SECURITY_API,
                "AuthorizationPolicy",
                name,
                self.namespace,
                spec,
                after_mesh,
            )

        def identity(app: str) -> pulumi.Output[str]:
            return pulumi.Output.all(self.namespace, accounts[app].metadata.name).apply(
                lambda parts: kube.principal(parts[0], parts[1])
            )

        policy(f"{self._name}-deny-all", "deny-all", {})
        callers: dict[str, list[pulumi.Input[str]]] = {
            PRODUCT_PAGE: list(self._args.get("product_page_clients", [])),
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
