"""Checks that span several keys. Each runs when the sections it needs are structurally valid."""

from collections.abc import Callable, Collection
from dataclasses import dataclass

from components.options import Environment, ExposureMode, JaegerUiAccess, TlsMode
from settings.model import MeshSettings
from settings.problems import MISSING, Problem
from settings.secrets import (
    ISTIO_CHART_REPOSITORY_PASSWORD,
    JAEGER_STORAGE_PASSWORD,
    TRACING_BACKEND_TOKEN,
    set_command,
)

STORAGE_BLOCKS = ("memory", "badger", "elasticsearch", "opensearch", "cassandra")
NEEDS_A_STORE = ("elasticsearch", "opensearch", "cassandra")


@dataclass(frozen=True)
class Rule:
    needs: tuple[str, ...]
    check: Callable[[MeshSettings, Collection[str]], list[Problem]]


def _missing_secret(key: str, because: str) -> Problem:
    return Problem(key, MISSING, f"a secret, required {because}: {set_command(key)}")


def _replica_range(
    mesh: MeshSettings, path: str, minimum: int, maximum: int, why_ha: str | None
) -> list[Problem]:
    """`maxReplicas` not below `minReplicas`; with `why_ha`, at least two replicas in prod."""
    problems = []
    if maximum < minimum:
        problems.append(Problem(f"{path}.maxReplicas", maximum, f">= {path}.minReplicas ({minimum})"))
    if why_ha and mesh.environment is Environment.PROD and minimum < 2:
        problems.append(Problem(f"{path}.minReplicas", minimum, f"at least 2 in prod ({why_ha})"))
    return problems


def istiod_replicas(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    istiod = mesh.istio.istiod
    return _replica_range(
        mesh, "istio.istiod", istiod.min_replicas, istiod.max_replicas, "istiod must survive a node drain"
    )


def collector_replicas(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    collector = mesh.jaeger.collector
    return _replica_range(mesh, "jaeger.collector", collector.min_replicas, collector.max_replicas, None)


def gateway_replicas(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    gateway = mesh.gateway
    return _replica_range(
        mesh,
        "gateway",
        gateway.min_replicas,
        gateway.max_replicas,
        "the front door must survive a node drain",
    )


def prod_mtls(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    if mesh.environment is Environment.PROD and mesh.istio.mtls_mode != "STRICT":
        return [
            Problem("istio.mtlsMode", mesh.istio.mtls_mode, "STRICT in prod (PERMISSIVE accepts plain text)")
        ]
    return []


def chart_repository_credentials(mesh: MeshSettings, secrets: Collection[str]) -> list[Problem]:
    if mesh.istio.chart_repository_username and ISTIO_CHART_REPOSITORY_PASSWORD not in secrets:
        return [_missing_secret(ISTIO_CHART_REPOSITORY_PASSWORD, "with istio.chartRepositoryUsername")]
    return []


def backend_target(mesh: MeshSettings, secrets: Collection[str]) -> list[Problem]:
    """The tracing provider must point at something that exists."""
    backend = mesh.tracing.backend
    if backend.kind == "jaeger":
        if not mesh.jaeger_enabled:
            return [
                Problem(
                    "jaeger.enabled",
                    False,
                    "true while tracing.backend.kind is jaeger (the provider's target)",
                )
            ]
        return []
    problems = []
    if backend.service is None:
        problems.append(
            Problem(
                "tracing.backend.service",
                MISSING,
                f"the host of the {backend.kind} backend (FQDN or public name)",
            )
        )
    if backend.kind == "otlp" and backend.port is None:
        problems.append(
            Problem("tracing.backend.port", MISSING, "the OTLP port of the backend, e.g. 4317 or 443")
        )
    if backend.token_header and TRACING_BACKEND_TOKEN not in secrets:
        problems.append(_missing_secret(TRACING_BACKEND_TOKEN, "with tracing.backend.tokenHeader"))
    if backend.token_header and backend.kind != "otlp":
        problems.append(Problem("tracing.backend.tokenHeader", backend.token_header, "only with kind otlp"))
    return problems


def custom_tags(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    problems = []
    for name, tag in mesh.tracing.custom_tags.items():
        sources = [s for s in ("literal", "header", "environment") if getattr(tag, s) is not None]
        if len(sources) != 1:
            problems.append(
                Problem(
                    f"tracing.customTags.{name}",
                    sources or MISSING,
                    "exactly one of literal, header, environment",
                )
            )
    return problems


def namespace_overrides(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for index, override in enumerate(mesh.tracing.namespace_overrides):
        if override.namespace in seen:
            problems.append(
                Problem(
                    f"tracing.namespaceOverrides.{index}.namespace", override.namespace, "each namespace once"
                )
            )
        seen.add(override.namespace)
    return problems


def storage_choice(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    """Only the chosen backend's block, and the block a store needs to be found."""
    storage = mesh.jaeger.storage
    problems = [
        Problem(
            f"jaeger.storage.{block}",
            "(set)",
            f"unset: only the block of storage.kind ({storage.kind}) is used",
        )
        for block in STORAGE_BLOCKS
        if block != storage.kind and getattr(storage, block) is not None
    ]
    if storage.kind in NEEDS_A_STORE and getattr(storage, storage.kind) is None:
        what = "servers" if storage.kind == "cassandra" else "serverUrls"
        problems.append(
            Problem(
                f"jaeger.storage.{storage.kind}",
                MISSING,
                f"the existing cluster to use ({what}, credentials, retention)",
            )
        )
    return problems


def prod_storage(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    if mesh.environment is Environment.PROD and mesh.jaeger_enabled and mesh.jaeger.storage.kind == "memory":
        return [
            Problem(
                "jaeger.storage.kind",
                "memory",
                "badger, elasticsearch, opensearch or cassandra in prod (memory loses every trace on restart)",
            )
        ]
    return []


def storage_password(mesh: MeshSettings, secrets: Collection[str]) -> list[Problem]:
    block = getattr(mesh.jaeger.storage, mesh.jaeger.storage.kind)
    username = getattr(block, "username", None)
    if mesh.jaeger_enabled and username and JAEGER_STORAGE_PASSWORD not in secrets:
        return [
            _missing_secret(
                JAEGER_STORAGE_PASSWORD, f"with jaeger.storage.{mesh.jaeger.storage.kind}.username"
            )
        ]
    return []


def gateway_hosts(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    problems = []
    tls = mesh.gateway.tls.mode
    for index, host in enumerate(mesh.gateway.hosts):
        path = f"gateway.hosts.{index}"
        if host == "*" and mesh.environment is not Environment.DEV:
            problems.append(Problem(path, host, "a DNS name: '*' (any host) only in dev"))
        elif host == "*" and tls is not TlsMode.NONE:
            problems.append(
                Problem(
                    path, host, "a DNS name: a certificate cannot cover '*' (or set gateway.tls.mode none)"
                )
            )
        elif host.startswith("*.") and tls in (TlsMode.ACME, TlsMode.ACME_STAGING):
            problems.append(
                Problem(path, host, "a DNS name: ACME HTTP-01 cannot issue wildcard certificates")
            )
    return problems


def gateway_exposure(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    gateway = mesh.gateway
    problems = []
    if gateway.exposure is ExposureMode.INTERNAL_LB and gateway.cloud is None:
        problems.append(
            Problem(
                "gateway.cloud",
                MISSING,
                "aws, gcp or azure: whose annotations make the load balancer internal",
            )
        )
    load_balanced = gateway.exposure in (ExposureMode.INTERNAL_LB, ExposureMode.PUBLIC_LB)
    if gateway.load_balancer_source_ranges and not load_balanced:
        problems.append(
            Problem(
                "gateway.loadBalancerSourceRanges",
                gateway.load_balancer_source_ranges,
                "only with exposure internal or public",
            )
        )
    if gateway.node_ports is not None and gateway.exposure is not ExposureMode.NODEPORT:
        problems.append(Problem("gateway.nodePorts", "(set)", "only with exposure nodeport"))
    return problems


def gateway_tls(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    tls = mesh.gateway.tls
    if tls.mode in (TlsMode.ACME, TlsMode.ACME_STAGING) and tls.acme_email is None:
        return [
            Problem(
                "gateway.tls.acmeEmail",
                MISSING,
                f"the Let's Encrypt account email, required with mode {tls.mode.value}",
            )
        ]
    if tls.mode is TlsMode.EXISTING and tls.existing_secret_name is None:
        return [
            Problem(
                "gateway.tls.existingSecretName",
                MISSING,
                "the TLS Secret in the gateway namespace, required with mode existing",
            )
        ]
    return []


def jaeger_ui(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    """Jaeger has no authentication: on the gateway it needs TLS and an allowlist."""
    ui = mesh.gateway.jaeger_ui
    if ui.access is not JaegerUiAccess.GATEWAY:
        return []
    problems = []
    if ui.host is None:
        problems.append(Problem("gateway.jaegerUi.host", MISSING, "the host name the UI is served on"))
    elif ui.host in mesh.gateway.hosts:
        problems.append(
            Problem("gateway.jaegerUi.host", ui.host, "a host of its own, not one of gateway.hosts")
        )
    if not ui.allowed_source_ranges:
        problems.append(
            Problem(
                "gateway.jaegerUi.allowedSourceRanges",
                [],
                "at least one CIDR: Jaeger has no authentication of its own",
            )
        )
    if mesh.gateway.tls.mode is TlsMode.NONE:
        problems.append(
            Problem("gateway.tls.mode", "none", "a TLS mode while gateway.jaegerUi.access is gateway")
        )
    if not mesh.jaeger_enabled:
        problems.append(
            Problem("gateway.jaegerUi.access", "gateway", "none while the in-cluster Jaeger is not deployed")
        )
    return problems


def bookinfo_routing(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    app = mesh.bookinfo
    if not app.enabled:
        return []
    problems = []
    total = sum(app.reviews_weights.values())
    if total != 100:
        problems.append(
            Problem(
                "bookinfo.reviewsWeights",
                dict(app.reviews_weights),
                f"weights summing to 100 (they sum to {total})",
            )
        )
    if app.host is not None and app.host not in mesh.gateway.hosts:
        problems.append(
            Problem("bookinfo.host", app.host, f"one of gateway.hosts ({', '.join(mesh.gateway.hosts)})")
        )
    if app.host is None and mesh.gateway.hosts[0].startswith("*."):
        problems.append(Problem("bookinfo.host", MISSING, "a DNS name under the wildcard gateway.hosts[0]"))
    return problems


def load_generator_needs_bookinfo(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    if mesh.bookinfo.load_generator.enabled and not mesh.bookinfo.enabled:
        return [
            Problem(
                "bookinfo.loadGenerator.enabled",
                True,
                "false while bookinfo.enabled is false (nothing to call)",
            )
        ]
    return []


RULES = [
    Rule(("istio",), istiod_replicas),
    Rule(("istio",), chart_repository_credentials),
    Rule(("istio",), prod_mtls),
    Rule(("tracing", "jaeger"), backend_target),
    Rule(("tracing",), custom_tags),
    Rule(("tracing",), namespace_overrides),
    Rule(("jaeger",), storage_choice),
    Rule(("tracing", "jaeger"), prod_storage),
    Rule(("tracing", "jaeger"), storage_password),
    Rule(("jaeger",), collector_replicas),
    Rule(("gateway",), gateway_replicas),
    Rule(("gateway",), gateway_hosts),
    Rule(("gateway",), gateway_exposure),
    Rule(("gateway",), gateway_tls),
    Rule(("gateway", "tracing", "jaeger"), jaeger_ui),
    Rule(("bookinfo", "gateway"), bookinfo_routing),
    Rule(("bookinfo",), load_generator_needs_bookinfo),
]
