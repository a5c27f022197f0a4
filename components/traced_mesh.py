"""The whole traced mesh from one spec: control plane, Jaeger, mesh tracing and security, the ingress gateway
with its certificate, the Jaeger UI, Bookinfo with its load generator, and the mesh's observability
(Prometheus, Grafana, Kiali, Jaeger's Monitor tab).

The wiring between the parts lives here: the tracing provider from Jaeger's outputs, the revision and the
readiness of the control plane, the gateway's host and identity for Bookinfo, the load generator's route,
and the URLs the observability parts read each other at.
"""

from typing import Any

import pulumi
from pydantic.alias_generators import to_camel

from mesh_tracing import k8s as kube
from mesh_tracing.bookinfo import PRODUCT_PAGE_PATH, Bookinfo, BookinfoArgs
from mesh_tracing.gateway_certificate import TlsMode
from mesh_tracing.grafana import Grafana, GrafanaArgs
from mesh_tracing.ingress_gateway import IngressGateway, IngressGatewayArgs
from mesh_tracing.istio_control_plane import IstioControlPlane, IstioControlPlaneArgs
from mesh_tracing.jaeger import Jaeger, JaegerArgs
from mesh_tracing.jaeger_ui import JaegerUi
from mesh_tracing.kiali import WEB_ROOT, Kiali, KialiArgs
from mesh_tracing.load_generator import LoadGenerator
from mesh_tracing.mesh_security import MeshSecurity, MeshSecurityArgs
from mesh_tracing.mesh_tracing import MeshTracing, MeshTracingArgs
from mesh_tracing.prometheus import MetricsMode, Prometheus, PrometheusArgs
from mesh_tracing.spec import MISSING, FieldPath, Problem, Spec
from mesh_tracing.trace_check import TraceCheck
from mesh_tracing.tracing_backend import TracingBackendKind
from mesh_tracing.ui_access import UiAccessArgs, UiRoute, UiRouteArgs

TYPE = "mesh-tracing:index:TracedMesh"
LOAD_GENERATOR = "loadgen"
"""The load generator's name, which is also its ServiceAccount's: its identity in the mesh."""
# Before TracedMesh, this project's program declared its parts at the stack root, under these same names.
# Aliasing each part to the root keeps their URNs (and their children's), so an existing stack adopts them
# in place; without it, Pulumi would create the parts anew and then delete the old ones, objects included.
FORMERLY_AT_ROOT = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]


class TracedMeshArgs(Spec):
    """A traced Istio mesh: one spec per part. Parts are named by role (`istio`, `jaeger`, `ingress`, ...),
    so one TracedMesh per stack."""

    tracing: MeshTracingArgs
    """Sampling, tags and where spans go."""
    gateway: IngressGatewayArgs
    """The ingress gateway: exposure, hosts, TLS and the Jaeger UI."""
    istio: IstioControlPlaneArgs = IstioControlPlaneArgs()
    """The control plane, and the mesh-wide mTLS mode."""
    jaeger: JaegerArgs | None = None
    """The in-cluster Jaeger and its store; none when spans go to an existing backend."""
    bookinfo: BookinfoArgs = BookinfoArgs()
    """Istio's Bookinfo sample and its load generator (off unless enabled)."""
    prometheus: PrometheusArgs = PrometheusArgs(mode=MetricsMode.NONE)
    """The mesh's metrics (none unless set): also the store of Jaeger's Monitor tab."""
    grafana: GrafanaArgs = GrafanaArgs(enabled=False)
    """Grafana with Istio's dashboards (off unless enabled); needs the metrics."""
    kiali: KialiArgs = KialiArgs(enabled=False)
    """Kiali, the mesh's graph with its traces (off unless enabled); needs the metrics."""
    environment: str | None = None
    """The environment's name (dev, staging, prod), put on every span as the `environment` tag."""

    @property
    def runs_jaeger(self) -> bool:
        if self.jaeger is None:
            return False
        if self.jaeger.enabled is not None:
            return self.jaeger.enabled
        return self.tracing.backend.kind is TracingBackendKind.JAEGER

    @property
    def uis(self) -> dict[str, UiAccessArgs]:
        """The observability UIs that run, by part."""
        parts = {
            "prometheus": (self.prometheus.mode is MetricsMode.INSTALL, self.prometheus.ui),
            "grafana": (self.grafana.enabled, self.grafana.ui),
            "kiali": (self.kiali.enabled, self.kiali.ui),
        }
        return {part: ui for part, (runs, ui) in parts.items() if runs}

    def _observability_problems(self) -> list[Problem]:
        problems = []
        mode = (("prometheus", "mode"),)
        for part in ("grafana", "kiali"):
            if getattr(self, part).enabled and self.prometheus.mode is MetricsMode.NONE:
                problems.append(
                    Problem((part, "enabled"), True, "false while {0} is none (it reads the metrics)", mode)
                )
        taken: dict[str, FieldPath] = {host: ("gateway", "hosts") for host in self.gateway.hosts}
        if self.gateway.jaeger_ui.on_gateway and self.gateway.jaeger_ui.host:
            taken[self.gateway.jaeger_ui.host] = ("gateway", "jaeger_ui", "host")
        for part, ui in self.uis.items():
            if not ui.on_gateway or ui.host is None:
                continue
            if self.gateway.tls.mode is TlsMode.NONE:
                problems.append(
                    Problem(
                        (part, "ui", "access"),
                        "gateway",
                        "none while {0} is none: a UI is served on the gateway only with TLS",
                        (("gateway", "tls", "mode"),),
                    )
                )
            if ui.host in taken:
                problems.append(
                    Problem((part, "ui", "host"), ui.host, "a host of its own, not {0}'s", (taken[ui.host],))
                )
            taken[ui.host] = (part, "ui", "host")
        return problems

    def _rules(self) -> list[Problem]:
        problems = self._backend_problems() + self._observability_problems()
        ui = self.gateway.jaeger_ui
        if ui.on_gateway and not self.runs_jaeger:
            problems.append(
                Problem(
                    ("gateway", "jaeger_ui", "access"),
                    ui.access.value,
                    "none while the in-cluster Jaeger is not deployed",
                )
            )
        app = self.bookinfo
        if app.enabled and app.host is not None and app.host not in self.gateway.hosts:
            hosts = ", ".join(self.gateway.hosts)
            problems.append(
                Problem(("bookinfo", "host"), app.host, f"one of {{0}} ({hosts})", (("gateway", "hosts"),))
            )
        if app.enabled and app.host is None and self.gateway.hosts[0].startswith("*."):
            problems.append(
                Problem(
                    ("bookinfo", "host"),
                    MISSING,
                    "a DNS name under the wildcard {0}",
                    (("gateway", "hosts", 0),),
                )
            )
        return problems

    def _backend_problems(self) -> list[Problem]:
        """The provider must point at something that exists: the in-cluster Jaeger, or a named service."""
        backend = self.tracing.backend
        if backend.kind is not TracingBackendKind.JAEGER:
            return []
        kind, service = ("tracing", "backend", "kind"), ("tracing", "backend", "service")
        if backend.service is not None and self.runs_jaeger:
            return [
                Problem(service, backend.service, "unset while the in-cluster Jaeger is the backend", (kind,))
            ]
        if backend.service is None and not self.runs_jaeger:
            if self.jaeger is None:
                return [
                    Problem(
                        ("jaeger",),
                        MISSING,
                        "the Jaeger to run while {0} is jaeger (or {1})",
                        (kind, service),
                    )
                ]
            return [
                Problem(
                    ("jaeger", "enabled"), False, "true while {0} is jaeger (the provider's target)", (kind,)
                )
            ]
        return []


class TracedMesh(pulumi.ComponentResource):
    """The whole traced mesh: Istio, Jaeger, the Telemetry sampling, the gateway and the sample apps."""

    environment: str | None
    """The environment's name."""
    istio_revision: pulumi.Output[str]
    """The istiod revision."""
    injection_labels: pulumi.Output[dict[str, str]]
    """Labels that put a namespace's pods in the mesh."""
    tracing_provider: pulumi.Output[str]
    """The extension provider the mesh reports to."""
    sampling_percentage: pulumi.Output[float]
    """The mesh-wide sampling rate."""
    mtls_mode: pulumi.Output[str] | None
    """The mesh-wide mTLS mode, when one is set."""
    gateway_address: pulumi.Output[str]
    """The gateway's load balancer address, or how to reach it (port-forward, node port)."""
    gateway_tls: str
    """Where the gateway's certificate comes from (`none` without TLS)."""
    app_url: pulumi.Output[str]
    """Base URL of the first app host."""
    bookinfo_namespace: pulumi.Output[str] | None
    """Bookinfo's namespace, when it runs."""
    product_page_url: pulumi.Output[str] | None
    """The product page's URL, when Bookinfo runs."""
    jaeger_service_name: pulumi.Output[str] | None
    """The service to pick in the Jaeger UI for the product page (`productpage.<namespace>`)."""
    jaeger_storage: str | None
    """The in-cluster Jaeger's kind of store, when it runs."""
    jaeger_otlp_grpc_endpoint: pulumi.Output[str] | None
    """The in-cluster Jaeger's OTLP/gRPC endpoint, for apps that export their own spans."""
    jaeger_otlp_http_endpoint: pulumi.Output[str] | None
    """The in-cluster Jaeger's OTLP/HTTP endpoint."""
    jaeger_zipkin_endpoint: pulumi.Output[str] | None
    """The in-cluster Jaeger's Zipkin endpoint."""
    jaeger_ui: pulumi.Output[str] | None
    """The Jaeger UI's URL (through the gateway, or on localhost after the port-forward)."""
    jaeger_ui_port_forward: pulumi.Output[str] | None
    """The `kubectl port-forward` command to the UI, when it is not on the gateway."""
    jaeger_search: pulumi.Output[str] | None
    """A link to the product page's traces in the Jaeger UI."""
    tracing_tags: list[str]
    """The tags every span carries (`make verify` checks them)."""
    load_generator_rate: float | None
    """The load generator's requests per second, when it runs (`make verify` checks the sampled share)."""
    prometheus_url: str | None
    """The query URL of the mesh's metrics (in the cluster)."""
    prometheus_ui: pulumi.Output[str] | None
    """Prometheus's UI (through the gateway, or on localhost after the port-forward), when installed here."""
    prometheus_port_forward: pulumi.Output[str] | None
    """The `kubectl port-forward` command to Prometheus's UI, when it is not on the gateway."""
    grafana_ui: pulumi.Output[str] | None
    """Grafana's URL (through the gateway, or on localhost after the port-forward)."""
    grafana_port_forward: pulumi.Output[str] | None
    """The `kubectl port-forward` command to Grafana, when it is not on the gateway."""
    grafana_admin_password: pulumi.Output[str] | None
    """Grafana's `admin` password (secret: `pulumi stack output grafanaAdminPassword --show-secrets`)."""
    kiali_ui: pulumi.Output[str] | None
    """Kiali's URL (through the gateway, or on localhost after the port-forward)."""
    kiali_port_forward: pulumi.Output[str] | None
    """The `kubectl port-forward` command to Kiali, when it is not on the gateway."""
    kiali_auth: str | None
    """How Kiali identifies people (`token`: paste `kubectl create token <service account>`)."""

    def __init__(self, name: str, args: TracedMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = TracedMeshArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        self.environment = spec.environment

        def part(*depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, aliases=FORMERLY_AT_ROOT, depends_on=list(depends_on))

        def new_part(*depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
            # Parts that came after TracedMesh: nothing older to adopt.
            return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

        # The tracing backend first: istiod's mesh config points at it. With metrics, Jaeger's Monitor tab
        # reads them from the stack's Prometheus (a URL known from its spec: Jaeger does not wait for it).
        metrics_url = spec.prometheus.query_url
        jaeger = (
            Jaeger("jaeger", spec.jaeger.model_copy(update={"metrics_url": metrics_url}), part())
            if spec.jaeger is not None and spec.runs_jaeger
            else None
        )
        backend = spec.tracing.backend
        self._control_plane = IstioControlPlane(
            "istio",
            spec.istio.model_copy(
                update={
                    # The mesh-wide mode is applied below, as `security`, where stacks made before TracedMesh
                    # have it.
                    "mtls_mode": None,
                    "extension_providers": [backend.extension_provider(jaeger)],
                    "istiod_secret_env": backend.istiod_secret_env,
                }
            ),
            part(),
        )
        plane = self._control_plane
        tracing = MeshTracing(
            "tracing",
            spec.tracing.model_copy(
                update={"root_namespace": plane.root_namespace, "environment": spec.environment}
            ),
            part(*plane.ready),
        )
        if spec.istio.mtls_mode is not None:
            security = MeshSecurity(
                "security",
                MeshSecurityArgs(mtls_mode=spec.istio.mtls_mode, root_namespace=plane.root_namespace),
                part(*plane.ready),
            )
            self.mtls_mode = security.mtls_mode
        else:
            self.mtls_mode = None

        gateway = self._ingress_gateway(spec, plane, part)
        self._gateway = gateway
        if jaeger is not None and spec.gateway.jaeger_ui.on_gateway:
            JaegerUi(
                "jaeger-ui",
                spec.gateway.jaeger_ui.model_copy(
                    update={
                        "gateway": gateway.gateway,
                        "gateway_namespace": gateway.namespace,
                        "gateway_selector": gateway.selector_labels,
                        "query_host": jaeger.query_host,
                        "query_port": jaeger.query_port,
                    }
                ),
                part(*plane.ready),
            )

        # The sample apps wait for a ready istiod (sidecars) and the Telemetry (traced from the first request).
        mesh_ready = [*plane.ready, tracing.telemetry]
        bookinfo = self._bookinfo(spec, plane, gateway, part(*mesh_ready)) if spec.bookinfo.enabled else None
        load = spec.bookinfo.load_generator
        self.load_generator_rate = load.requests_per_second if bookinfo and load.enabled else None
        self.tracing_tags = sorted(tracing.span_tags)

        self.istio_revision = plane.revision
        self.injection_labels = plane.injection_labels
        self.tracing_provider = tracing.provider_name
        self.sampling_percentage = tracing.sampling_percentage
        self.gateway_address = gateway.address
        self.gateway_tls = gateway.tls_mode
        self.app_url = gateway.url(spec.gateway.hosts[0])
        self.bookinfo_namespace = bookinfo.namespace if bookinfo else None
        self.product_page_url = (
            pulumi.Output.concat(gateway.url(self._bookinfo_host(spec)), PRODUCT_PAGE_PATH)
            if bookinfo
            else None
        )
        self.jaeger_service_name = bookinfo.jaeger_service if bookinfo else None
        self._jaeger_outputs(spec, jaeger, gateway, bookinfo)
        if jaeger is not None and bookinfo is not None and spec.bookinfo.trace_check.enabled:
            TraceCheck(
                "trace-check",
                spec.bookinfo.trace_check.model_copy(
                    update={
                        "namespace": bookinfo.namespace,
                        "jaeger_url": jaeger.query_url,
                        "sampling_percentage": spec.tracing.sampling_percentage,
                        "requests_per_second": load.requests_per_second,
                        "tags": tracing.span_tags,
                    }
                ),
                new_part(*mesh_ready),
            )
        # Nothing in the mesh waits for these: they observe it from outside, after the fact.
        self._observability(spec, plane, jaeger, gateway, new_part)
        self.register_outputs(self.outputs())

    @property
    def control_plane(self) -> IstioControlPlane:
        """The control plane part: its `ready` is what Istio resources of your own wait for."""
        return self._control_plane

    @property
    def gateway(self) -> IngressGateway:
        """The ingress gateway part: bind your own routes to its `gateway`."""
        return self._gateway

    def _ingress_gateway(self, spec: TracedMeshArgs, plane: IstioControlPlane, part: Any) -> IngressGateway:
        """cert-manager once for the cluster (unless it runs already), then the gateway after a ready istiod;
        its certificates wait for cert-manager."""
        tls = spec.gateway.tls
        prerequisites: list[pulumi.Resource] = [plane.istiod]
        if tls.mode.uses_cert_manager and tls.cert_manager.install:
            prerequisites.append(tls.cert_manager.deploy("cert-manager", part()))
        installed_here = tls.cert_manager.model_copy(update={"install": False})
        return IngressGateway(
            "ingress",
            spec.gateway.model_copy(
                update={
                    # The gateway joins through the mesh's tag, from the charts of the revision behind it.
                    "chart": spec.istio.charts_at(plane.injected_revision),
                    "revision": spec.istio.injection,
                    "sidecar_revision": plane.injected_revision,
                    "tls": tls.model_copy(update={"cert_manager": installed_here}),
                    "ui_hosts": [ui.host for ui in spec.uis.values() if ui.on_gateway and ui.host],
                }
            ),
            part(*prerequisites),
        )

    @staticmethod
    def _bookinfo_host(spec: TracedMeshArgs) -> str:
        return spec.bookinfo.host or spec.gateway.hosts[0]

    def _bookinfo(
        self,
        spec: TracedMeshArgs,
        plane: IstioControlPlane,
        gateway: IngressGateway,
        opts: pulumi.ResourceOptions,
    ) -> Bookinfo:
        """Bookinfo on its gateway host, and the load generator: through the gateway as an outside client
        when the product page has a host there, inside the mesh otherwise."""
        app = spec.bookinfo
        host = self._bookinfo_host(spec)
        load = app.load_generator
        in_mesh = host == "*"
        clients: list[pulumi.Input[str]] = [gateway.principal]
        if load.enabled and in_mesh:
            clients.append(kube.principal(app.namespace, LOAD_GENERATOR))
        bookinfo = Bookinfo(
            "bookinfo",
            app.model_copy(
                update={
                    "host": host,
                    "revision": spec.istio.injection,
                    "sidecar_revision": plane.injected_revision,
                    "gateway": gateway.gateway,
                    "product_page_clients": clients,
                }
            ),
            opts,
        )
        if load.enabled:
            target = (
                bookinfo.product_page_url_in_mesh
                if in_mesh
                else gateway.in_cluster_url(host).apply(lambda url: url + PRODUCT_PAGE_PATH)
            )
            LoadGenerator(
                LOAD_GENERATOR,
                load.model_copy(
                    update={
                        "namespace": bookinfo.namespace,
                        "target_url": target,
                        "gateway_address": None if in_mesh else gateway.cluster_ip,
                        "sidecar_revision": plane.injected_revision,
                    }
                ),
                opts,
            )
        return bookinfo

    def _jaeger_outputs(
        self, spec: TracedMeshArgs, jaeger: Jaeger | None, gateway: IngressGateway, bookinfo: Bookinfo | None
    ) -> None:
        self.jaeger_storage = jaeger.storage_kind if jaeger else None
        self.jaeger_otlp_grpc_endpoint = jaeger.otlp_grpc_endpoint if jaeger else None
        self.jaeger_otlp_http_endpoint = jaeger.otlp_http_endpoint if jaeger else None
        self.jaeger_zipkin_endpoint = jaeger.zipkin_endpoint if jaeger else None
        self.jaeger_ui = self.jaeger_ui_port_forward = self.jaeger_search = None
        if jaeger is None:
            return
        ui = spec.gateway.jaeger_ui
        if ui.on_gateway and ui.host:
            self.jaeger_ui = gateway.url(ui.host)
        else:
            self.jaeger_ui = pulumi.Output.from_input(f"http://localhost:{jaeger.query_port}")
            self.jaeger_ui_port_forward = kube.port_forward(
                jaeger.namespace, jaeger.query_service_name, jaeger.query_port, jaeger.query_port
            )
        if bookinfo is not None:
            self.jaeger_search = pulumi.Output.format(
                "{0}/search?service={1}", self.jaeger_ui, bookinfo.jaeger_service
            )

    def _ui(
        self,
        name: str,
        ui: UiAccessArgs,
        service: tuple[pulumi.Input[str], int],
        local: tuple[pulumi.Output[str], pulumi.Output[str]],
        path: str,
        gateway: IngressGateway,
        opts: pulumi.ResourceOptions,
    ) -> tuple[pulumi.Output[str], pulumi.Output[str] | None]:
        """A UI's URL, and its port-forward command when it is not on the gateway (where it gets a route).
        `local` is its URL on localhost and the port-forward to it; `path` is its web root."""
        if not (ui.on_gateway and ui.host):
            return local
        UiRoute(
            f"{name}-ui",
            UiRouteArgs(
                **ui.model_dump(),
                gateway=gateway.gateway,
                gateway_namespace=gateway.namespace,
                gateway_selector=gateway.selector_labels,
                service_host=service[0],
                service_port=service[1],
            ),
            opts,
        )
        return pulumi.Output.concat(gateway.url(ui.host), path), None

    def _observability(
        self,
        spec: TracedMeshArgs,
        plane: IstioControlPlane,
        jaeger: Jaeger | None,
        gateway: IngressGateway,
        part: Any,
    ) -> None:
        """Prometheus scraping the proxies, istiod and Jaeger's span metrics; Grafana and Kiali reading it,
        and linking to the traces."""
        self.prometheus_url = spec.prometheus.query_url
        self.prometheus_ui = self.prometheus_port_forward = None
        self.grafana_ui = self.grafana_port_forward = self.grafana_admin_password = None
        self.kiali_ui = self.kiali_port_forward = self.kiali_auth = None
        if spec.prometheus.mode is MetricsMode.NONE:
            return
        after_istio = part(*plane.ready)  # routes on the gateway are validated by istiod's webhook
        targets = [jaeger.span_metrics_target] if jaeger is not None else []
        # Grafana runs in Prometheus's namespace when both are here; its volume then keeps the namespace too.
        shared = (
            spec.prometheus.mode is MetricsMode.INSTALL
            and spec.grafana.namespace == spec.prometheus.namespace
        )
        prometheus = Prometheus(
            "prometheus",
            spec.prometheus.model_copy(
                update={
                    "istio_namespace": spec.istio.namespace,
                    "pod_targets": targets,
                    "namespace_holds_data": shared
                    and spec.grafana.enabled
                    and spec.grafana.volume_size is not None,
                }
            ),
            part(),
        )
        if prometheus.service_port and prometheus.local_url and prometheus.port_forward:
            self.prometheus_ui, self.prometheus_port_forward = self._ui(
                "prometheus",
                spec.prometheus.ui,
                (spec.prometheus.service_host, prometheus.service_port),
                (prometheus.local_url, prometheus.port_forward),
                "",
                gateway,
                after_istio,
            )
        grafana = None
        if spec.grafana.enabled:
            ui = spec.grafana.ui
            external = gateway.url(ui.host) if ui.on_gateway and ui.host else None
            grafana = Grafana(
                "grafana",
                spec.grafana.model_copy(
                    update={
                        "prometheus_url": self.prometheus_url,
                        "jaeger_url": jaeger.query_url if jaeger else None,
                        "jaeger_ui_url": self.jaeger_ui,
                        "external_url": external,
                        "shared_namespace": prometheus.namespace if shared else None,
                    }
                ),
                part(),
            )
            self.grafana_ui, self.grafana_port_forward = self._ui(
                "grafana",
                ui,
                (grafana.service_host, grafana.service_port),
                (grafana.local_url, grafana.port_forward),
                "",
                gateway,
                after_istio,
            )
            self.grafana_admin_password = grafana.admin_password
        if spec.kiali.enabled:
            kiali = Kiali(
                "kiali",
                spec.kiali.model_copy(
                    update={
                        "namespace": plane.namespace,
                        "prometheus_url": self.prometheus_url,
                        "tracing_url": jaeger.query_grpc_url if jaeger else None,
                        "tracing_ui_url": self.jaeger_ui,
                        "grafana_url": grafana.url if grafana else None,
                        "grafana_ui_url": self.grafana_ui,
                    }
                ),
                part(),
            )
            self.kiali_ui, self.kiali_port_forward = self._ui(
                "kiali",
                spec.kiali.ui,
                (kiali.service_host, kiali.service_port),
                (kiali.local_url, kiali.port_forward),
                WEB_ROOT,
                gateway,
                after_istio,
            )
            self.kiali_auth = kiali.auth

    def outputs(self) -> dict[str, Any]:
        """The outputs that are set, by camelCase name: what a stack exports."""
        names = [name for name in type(self).__annotations__ if not name.startswith("_")]
        return {to_camel(name): value for name in names if (value := getattr(self, name)) is not None}
