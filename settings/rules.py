"""Checks that span several keys. Each runs when the sections it needs are structurally valid."""

from collections.abc import Callable, Collection
from dataclasses import dataclass

from components.options import Environment
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


def istiod_replicas(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    istiod = mesh.istio.istiod
    problems = []
    if istiod.max_replicas < istiod.min_replicas:
        problems.append(
            Problem(
                "istio.istiod.maxReplicas",
                istiod.max_replicas,
                f">= istio.istiod.minReplicas ({istiod.min_replicas})",
            )
        )
    if mesh.environment is Environment.PROD and istiod.min_replicas < 2:
        problems.append(
            Problem(
                "istio.istiod.minReplicas",
                istiod.min_replicas,
                "at least 2 in prod (istiod must survive a node drain)",
            )
        )
    return problems


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


def collector_replicas(mesh: MeshSettings, _: Collection[str]) -> list[Problem]:
    collector = mesh.jaeger.collector
    if collector.max_replicas < collector.min_replicas:
        return [
            Problem(
                "jaeger.collector.maxReplicas",
                collector.max_replicas,
                f">= jaeger.collector.minReplicas ({collector.min_replicas})",
            )
        ]
    return []


RULES = [
    Rule(("istio",), istiod_replicas),
    Rule(("istio",), chart_repository_credentials),
    Rule(("tracing", "jaeger"), backend_target),
    Rule(("tracing",), custom_tags),
    Rule(("tracing",), namespace_overrides),
    Rule(("jaeger",), storage_choice),
    Rule(("tracing", "jaeger"), prod_storage),
    Rule(("tracing", "jaeger"), storage_password),
    Rule(("jaeger",), collector_replicas),
]
