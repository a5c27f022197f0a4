"""The Istio control plane: the `base` (CRDs), optional `cni` and revisioned `istiod` charts, with revision
tags, so that a canary revision can run beside the current one and namespaces move between them by tag."""

from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart
from pydantic import Field, StringConstraints

from mesh_tracing import k8s as kube
from mesh_tracing.fields import ChartRepository, DnsLabel, ReleaseVersion, Revision
from mesh_tracing.helm import ChartSource, deep_merge, retain_crds
from mesh_tracing.mesh_security import MeshSecurity, MeshSecurityArgs, MtlsMode
from mesh_tracing.spec import MISSING, Key, Problem, Spec, secret, wired

TYPE = "mesh-tracing:index:IstioControlPlane"
ISTIO_VERSION = "1.30.3"
ISTIO_CHARTS = "https://istio-release.storage.googleapis.com/charts"
REVISION_LABEL = "istio.io/rev"
"""Namespace label that selects the istiod revision (or revision tag) whose injector adds sidecars."""
DEFAULT_INJECTION = "stable"
"""The revision tag this mesh's own namespaces and gateway use, unless set otherwise."""
CANARY_TAG = "canary"


class IstiodScale(Spec):
    """istiod's replicas and resources."""

    min_replicas: int = Field(1, ge=1, le=20)
    """Replicas, or the autoscaler's minimum when `max_replicas` is higher. Two or more adds a
    PodDisruptionBudget."""
    max_replicas: int = Field(1, ge=1, le=50)
    """The autoscaler's maximum; equal to `min_replicas` means a fixed replica count."""
    resources: kube.ResourceRequirements = kube.ResourceRequirements(
        requests=kube.ComputeQuantities(cpu="500m", memory="2Gi")
    )
    """istiod container resources."""

    def _rules(self) -> list[Problem]:
        return kube.replica_range(self.min_replicas, self.max_replicas)


class IstioExtraValues(Spec):
    """Helm values merged last into each chart: the escape hatch for anything not modelled here."""

    base: dict[str, Any] = {}
    """Merged into the `base` chart's values."""
    istiod: dict[str, Any] = {}
    """Merged into the `istiod` chart's values."""
    cni: dict[str, Any] = {}
    """Merged into the `cni` chart's values."""


TagName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")]
"""A revision tag's name: part of a webhook's and a Service's name, so a short DNS label."""


class IstioRevision(Spec):
    """Another istiod revision beside the control plane's own: a canary of a newer version."""

    version: ReleaseVersion
    """Its Istio release, from the same charts."""
    revision: Revision | None = None
    """Its name; the version with dots as dashes (`1-31-0`) when unset."""

    @property
    def effective_revision(self) -> str:
        return revision_name(self.version, self.revision)


def revision_name(version: str, revision: str | None) -> str:
    """A revision's name: as set, or the version with dots as dashes."""
    return revision or version.replace(".", "-")


class IstioControlPlaneArgs(Spec):
    """The Istio control plane: charts, revision, images, scale and hardening."""

    version: ReleaseVersion = ISTIO_VERSION
    """Istio release; Istio's charts carry the same version."""
    revision: Revision | None = None
    """istiod revision; the version with dots as dashes (`1-30-3`) when unset. Namespaces select it through
    a tag (`injection`), or by `istio.io/rev=<revision>`."""
    chart_repository: ChartRepository = ISTIO_CHARTS
    """Helm repository or `oci://` registry path of Istio's charts (a private mirror for air-gapped
    clusters)."""
    chart_repository_username: str | None = None
    """User for a private chart mirror; `chart_repository_password` is then required."""
    chart_repository_password: pulumi.Input[str] | None = secret()
    """The chart mirror user's password (a secret)."""
    hub: str | None = None
    """Image registry for istiod, sidecars and gateways (`global.hub`), e.g. a private mirror."""
    tag: str | None = None
    """Image tag (`global.tag`); the chart's release tag when unset."""
    namespace: DnsLabel = "istio-system"
    """Control plane namespace, also the mesh root namespace."""
    create_namespace: bool = True
    """Create the namespace, or use one that already exists (read, not managed)."""
    cni_enabled: bool = False
    """Install the `cni` chart and make istiod use it, so pods need no NET_ADMIN init container."""
    mtls_mode: MtlsMode | None = None
    """Mesh-wide mutual TLS, applied by a MeshSecurity after istiod is ready. Unset leaves the mesh's
    PeerAuthentication alone."""
    harden_control_plane: bool = False
    """Close istiod's unauthenticated plaintext ports: the debug interface on 8080 and plaintext xDS on
    15010. `istioctl` debugging commands that read the debug interface then stop working."""
    istiod: IstiodScale = IstiodScale()
    """istiod's replicas and resources."""
    extra_values: IstioExtraValues = IstioExtraValues()
    """Escape hatch: values merged last into each chart."""
    canary: IstioRevision | None = None
    """A second istiod revision beside this one (a canary upgrade), from the same charts at its version. The
    `base` chart (the CRDs) follows the newest of the two."""
    tags: dict[TagName, Revision] = {}
    """Revision tags, tag -> revision: namespaces labelled `istio.io/rev=<tag>` get that revision's sidecars,
    and moving a tag moves them. `stable` (this revision) and `canary` (the canary revision, else this one)
    exist unless set otherwise."""
    injection: Revision = DEFAULT_INJECTION
    """The `istio.io/rev` value of this mesh's own namespaces and gateway: a tag (`stable`) or a revision."""
    extension_providers: pulumi.Input[list[pulumi.Input[dict[str, Any]]]] = wired(
        [], "TracedMesh, from the tracing backend"
    )
    """`meshConfig.extensionProviders`, e.g. the tracing provider wired to Jaeger."""
    istiod_secret_env: dict[str, pulumi.Input[str]] = wired({}, "TracedMesh, from the tracing backend")
    """Secret values istiod reads from its environment (e.g. a tracing backend token that an extension
    provider references with `envName`). Kept in a Secret in the control plane namespace."""

    @property
    def effective_revision(self) -> str:
        return revision_name(self.version, self.revision)

    @property
    def revisions(self) -> dict[str, str]:
        """Every installed revision and its version, this one first."""
        installed = {self.effective_revision: self.version}
        if self.canary is not None:
            installed.setdefault(self.canary.effective_revision, self.canary.version)
        return installed

    @property
    def effective_tags(self) -> dict[str, str]:
        canary = self.canary.effective_revision if self.canary else self.effective_revision
        return {DEFAULT_INJECTION: self.effective_revision, CANARY_TAG: canary, **self.tags}

    @property
    def injected_revision(self) -> str:
        """The revision whose sidecars this mesh's own namespaces and gateway get."""
        return self.effective_tags.get(self.injection, self.injection)

    def charts_at(self, revision: str | None = None) -> ChartSource:
        """Where Istio's charts come from, at the version of `revision` (this one by default)."""
        return ChartSource(
            repository=self.chart_repository,
            version=self.revisions.get(revision or self.effective_revision, self.version),
            username=self.chart_repository_username,
            password=self.chart_repository_password,
        )

    @property
    def charts(self) -> ChartSource:
        """Where Istio's charts come from, at this revision's version."""
        return self.charts_at()

    @property
    def newest_version(self) -> str:
        return max(self.revisions.values(), key=lambda v: tuple(int(n) for n in v.split("-")[0].split(".")))

    def _rules(self) -> list[Problem]:
        problems = []
        if self.chart_repository_username and self.chart_repository_password is None:
            problems.append(
                Problem(
                    ("chart_repository_password",),
                    MISSING,
                    "required with {0}",
                    (("chart_repository_username",),),
                )
            )
        if self.canary is not None and self.canary.effective_revision == self.effective_revision:
            problems.append(
                Problem(
                    ("canary", "revision"),
                    self.canary.effective_revision,
                    "a name of its own: two revisions named alike would share every istiod object",
                )
            )
        installed = ", ".join(self.revisions)
        for tag, revision in self.tags.items():
            if revision not in self.revisions:
                problems.append(
                    Problem(
                        ("tags", Key(tag)),
                        revision,
                        f"an installed revision ({installed}): remove or move a tag before its revision",
                    )
                )
        if self.injection not in self.effective_tags and self.injection not in self.revisions:
            problems.append(
                Problem(
                    ("injection",),
                    self.injection,
                    f"a tag ({', '.join(self.effective_tags)}) or an installed revision ({installed}): the "
                    "mesh's namespaces and gateway still use it",
                )
            )
        return problems


class IstioControlPlane(pulumi.ComponentResource):
    """Installs Istio's CRDs and revisioned istiods (its own, and a canary) with their revision tags, from the
    official Helm charts."""

    namespace: pulumi.Output[str]
    """The control plane namespace."""
    root_namespace: pulumi.Output[str]
    """The mesh root namespace: a Telemetry here without a selector applies mesh-wide."""
    revision: pulumi.Output[str]
    """The control plane's own istiod revision."""
    revisions: list[str]
    """Every installed revision (its own, then the canary)."""
    tags: dict[str, str]
    """Revision tags, tag -> revision."""
    injected_revision: str
    """The revision whose sidecars the mesh's own namespaces and gateway get (through `injection`)."""
    injection_labels: pulumi.Output[dict[str, str]]
    """Labels that put a namespace's pods in the mesh (`istio.io/rev=<injection>`, by default the tag
    `stable`)."""

    def __init__(
        self, name: str, args: IstioControlPlaneArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = IstioControlPlaneArgs.parse(args)
        super().__init__(TYPE, name, {}, opts)
        self._spec = spec
        self._secret_env: pulumi.Output[str] | None = None
        revision = spec.effective_revision
        extra = spec.extra_values
        # The CRDs from the newest revision's charts: an older istiod ignores fields it does not know.
        newest = spec.charts_at().model_copy(update={"version": spec.newest_version})

        if spec.create_namespace:
            namespace: k8s.core.v1.Namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata={"name": spec.namespace},
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            # Adopted: read so that a missing namespace fails the preview instead of the charts.
            namespace = k8s.core.v1.Namespace.get(
                f"{name}-namespace", spec.namespace, opts=pulumi.ResourceOptions(parent=self)
            )
        after_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        self._crds = Chart(
            f"{name}-base",
            name="istio-base",
            namespace=spec.namespace,
            values=deep_merge(self._base_values(spec.injected_revision), extra.base),
            **newest.chart_args("base"),
            # Deleting Istio's CRDs deletes every Istio resource in the cluster; never let Pulumi do it.
            opts=pulumi.ResourceOptions.merge(
                after_namespace, pulumi.ResourceOptions(transforms=[retain_crds])
            ),
        )
        prerequisites: list[pulumi.Resource] = [self._crds]
        if spec.cni_enabled:
            prerequisites.append(
                Chart(
                    f"{name}-cni",
                    name="istio-cni",
                    namespace=spec.namespace,
                    values=deep_merge(self._cni_values(), extra.cni),
                    **newest.chart_args("cni"),
                    opts=after_namespace,
                )
            )
        if spec.istiod_secret_env:
            env_secret = k8s.core.v1.Secret(
                f"{name}-istiod-env",
                metadata={"name": "istiod-secret-env", "namespace": spec.namespace},
                type="Opaque",
                string_data={
                    key: pulumi.Output.secret(value) for key, value in spec.istiod_secret_env.items()
                },
                opts=after_namespace,
            )
            prerequisites.append(env_secret)
            self._secret_env = env_secret.metadata.name
        # One istiod release per revision. They share the prefix of their objects' resource names, so an
        # object that moves between releases (a revision tag's webhook; the canary's objects when it
        # becomes the control plane's own) keeps its identity: Pulumi updates it in place.
        self._istiods = [
            Chart(
                f"{name}-istiod" if rev == revision else f"{name}-istiod-{rev}",
                name="istiod" if rev == revision else f"istiod-{rev}",
                namespace=spec.namespace,
                values=deep_merge(self._istiod_values(rev), extra.istiod),
                resource_prefix=f"{name}-istiod",
                **spec.charts_at(rev).chart_args("istiod"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *prerequisites]),
            )
            for rev in spec.revisions
        ]

        self.namespace = namespace.metadata.name
        self.root_namespace = self.namespace
        if spec.mtls_mode is not None:
            MeshSecurity(
                f"{name}-security",
                MeshSecurityArgs(mtls_mode=spec.mtls_mode, root_namespace=self.root_namespace),
                opts=pulumi.ResourceOptions(parent=self, depends_on=self.ready),
            )
        self.revision = pulumi.Output.from_input(revision)
        self.revisions = list(spec.revisions)
        self.tags = spec.effective_tags
        self.injected_revision = spec.injected_revision
        self.injection_labels = pulumi.Output.from_input({REVISION_LABEL: spec.injection})
        self.register_outputs(
            {
                "namespace": self.namespace,
                "root_namespace": self.root_namespace,
                "revision": self.revision,
                "revisions": self.revisions,
                "tags": self.tags,
                "injection_labels": self.injection_labels,
            }
        )

    @property
    def crds(self) -> pulumi.Resource:
        """The `base` chart. Istio custom resources depend on it (CRDs first)."""
        return self._crds

    @property
    def istiod(self) -> pulumi.Resource:
        """The control plane's own `istiod` chart, awaited ready."""
        return self._istiods[0]

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What Istio resources wait for: the CRDs and every ready istiod (their webhooks validate them and
        inject sidecars). Pass it as `depends_on` to the components that declare Istio resources or meshed
        workloads."""
        return [self._crds, *self._istiods]

    # -- chart values: only keys each chart's templates read (checked against the charts' own lists) ------

    def _base_values(self, revision: str) -> dict[str, Any]:
        return {
            "global": {"istioNamespace": self._spec.namespace},
            # The default validator points at our revision, so every Istio resource is validated.
            "defaultRevision": revision,
            "base": _STABLE_WEBHOOK,
        }

    def _cni_values(self) -> dict[str, Any]:
        return {"global": self._images()}

    def _images(self) -> dict[str, str]:
        return {key: value for key, value in (("hub", self._spec.hub), ("tag", self._spec.tag)) if value}

    def _istiod_values(self, revision: str) -> dict[str, Any]:
        spec = self._spec
        scale = spec.istiod
        values: dict[str, Any] = {
            "revision": revision,
            # The tags that point here: this release renders their injection webhooks.
            "revisionTags": sorted(tag for tag, rev in spec.effective_tags.items() if rev == revision),
            "global": {
                "istioNamespace": spec.namespace,
                **self._images(),
                "defaultPodDisruptionBudget": {"enabled": scale.min_replicas > 1},
            },
            "base": _STABLE_WEBHOOK,
            "autoscaleEnabled": scale.max_replicas > scale.min_replicas,
            "autoscaleMin": scale.min_replicas,
            "autoscaleMax": scale.max_replicas,
            "replicaCount": scale.min_replicas,
            "pdb": {"minAvailable": 1},
            "seccompProfile": {"type": "RuntimeDefault"},
            # The injection template reads `pilot.cni.enabled`; a top-level `cni` key is read by nothing.
            "pilot": {"cni": {"enabled": spec.cni_enabled}},
            # Sampling is not set here: it lives in the Telemetry resource, which changes without restarts.
            "meshConfig": {"enableTracing": True, "extensionProviders": spec.extension_providers},
            "resources": scale.resources.as_kubernetes(),
        }
        if self._secret_env is not None:
            values["envVarFrom"] = [
                {"name": key, "valueFrom": {"secretKeyRef": {"name": self._secret_env, "key": key}}}
                for key in sorted(spec.istiod_secret_env)
            ]
        if spec.harden_control_plane:
            # Istio's security best practices: ENABLE_DEBUG_ON_HTTP=false and --grpcAddr="".
            values["env"] = {"ENABLE_DEBUG_ON_HTTP": "false"}
            values["extraContainerArgs"] = ["--grpcAddr="]
        return values


# Pulumi renders charts like `helm template` (never an upgrade), so istiod would flip the webhooks'
# failurePolicy from Ignore to Fail after every `pulumi up` and Pulumi would flip it back. Pinning it
# to Fail on both charts ends the perpetual diff (istio/istio#59488).
_STABLE_WEBHOOK = {"validationFailurePolicy": "Fail"}
