"""Teardown: what `make destroy` keeps and in which order it deletes the rest, read from the plans; the purge
that removes what was kept only after a deliberate confirmation; and a fresh `make up` that adopts it."""

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mesh_tracing.tooling.recorder import Run
from mesh_tracing.tooling.teardown import Kept, confirmed, kept, orphan_webhooks, purge
from tests.program import PROJECT, PROJECT_DIR, STACKS, committed_plan


def kept_names(stack: str) -> list[str]:
    return [item.what for item in kept(committed_plan(stack))]


def test_staging_keeps_the_crds_the_trace_and_metric_volumes_and_their_namespaces_and_nothing_else() -> None:
    assert kept_names("staging") == [
        "cert-manager's CustomResourceDefinitions (*.cert-manager.io)",
        "the volume claim tracing/jaeger-badger",
        "the volume claims of grafana in monitoring",
        "Istio's CustomResourceDefinitions (*.istio.io)",
        "the volume claims of prometheus in monitoring",
        "the namespace tracing",
        "the namespace monitoring",
    ]
    retained = {
        r["name"]
        for r in committed_plan("staging")["resources"]
        if r.get("options", {}).get("retainOnDelete")
    }
    assert retained == {"jaeger-badger", "jaeger-namespace", "prometheus-namespace"}


def test_dev_keeps_only_the_crds_its_data_is_ephemeral() -> None:
    assert kept_names("dev") == [
        "cert-manager's CustomResourceDefinitions (*.cert-manager.io)",
        "Istio's CustomResourceDefinitions (*.istio.io)",
    ]


def test_prod_keeps_the_prometheus_servers_claims_which_outlive_their_statefulset() -> None:
    assert "the Prometheus servers' volume claims in monitoring" in kept_names("prod")
    assert "the volume claims of prometheus in monitoring" not in kept_names("prod")


@pytest.mark.parametrize("stack", STACKS)
def test_what_destroy_keeps_the_next_up_declares_again_and_adopts(stack: str) -> None:
    plan = committed_plan(stack)
    declared = {(r["inputs"].get("metadata") or {}).get("name") for r in plan["resources"]}
    named = [item.purge[-1] for item in kept(plan) if item.purge and "-l" not in item.purge]
    assert set(named) <= declared, named
    # A create of an object that is already there adopts it instead of failing as "already exists".
    config = yaml.safe_load(PROJECT.stack_file(stack).read_text())["config"]
    assert config["kubernetes:upsertExistingObjects"] == "true"


@pytest.mark.parametrize("stack", STACKS)
def test_destroy_deletes_the_apps_and_istio_resources_before_istiod_and_istiod_before_the_crds(
    stack: str, rendered: Callable[[str], Run]
) -> None:
    run = rendered(stack)
    istiods = [c for c in run.of_type("kubernetes:helm.sh/v4:Chart") if c.at("chart") == "istiod"]
    base = run.named("istio-base")
    istio_apis = (
        "kubernetes:networking.istio.io",
        "kubernetes:security.istio.io",
        "kubernetes:telemetry.istio.io",
    )
    # Pulumi deletes in the reverse of creation order: what waits for istiod goes before it.
    before_istiod = [r for r in run.resources if r.type.startswith(istio_apis)]
    before_istiod += [
        d for d in run.of_type("kubernetes:apps/v1:Deployment") if d.name.startswith("bookinfo-")
    ]
    assert before_istiod
    for resource in before_istiod:
        for istiod in istiods:
            assert run.waits_for(resource, istiod), f"{resource.name} is deleted after {istiod.name}"
    for istiod in istiods:
        assert run.waits_for(istiod, base)
        # istiod's webhooks (injection, validation, revision tags) are its chart's objects: none is kept.
        assert istiod.transforms == []


def test_the_purge_confirmation_cannot_be_given_by_accident() -> None:
    assert confirmed("prod", "purge prod", {})
    assert not confirmed("prod", "y", {})
    assert not confirmed("prod", "yes", {})
    assert not confirmed("prod", "purge staging", {})
    assert confirmed("prod", None, {"PURGE_CONFIRM": "prod"})
    assert not confirmed("prod", "purge prod", {"PURGE_CONFIRM": "dev"})


def webhook(kind: str, name: str, *services: tuple[str, str]) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"name": name},
        "webhooks": [{"clientConfig": {"service": {"namespace": ns, "name": svc}}} for ns, svc in services],
    }


def listing(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(items)}


def service(namespace: str, name: str) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}}


def test_a_webhook_left_pointing_at_a_gone_istiod_is_an_orphan_and_others_are_not() -> None:
    configurations = listing(
        webhook(
            "MutatingWebhookConfiguration", "istio-revision-tag-stable", ("istio-system", "istiod-1-30-3")
        ),
        webhook(
            "MutatingWebhookConfiguration", "istio-sidecar-injector-1-31-0", ("istio-system", "istiod-1-31-0")
        ),
        webhook(
            "ValidatingWebhookConfiguration", "cert-manager-webhook", ("cert-manager", "cert-manager-webhook")
        ),
    )
    services = listing(service("istio-system", "istiod-1-31-0"))
    assert orphan_webhooks(configurations, services) == [
        ("MutatingWebhookConfiguration", "istio-revision-tag-stable")
    ]


class FakeKubectl:
    """Answers `kubectl ... -o json` from canned lists and records every call."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers: dict[str, dict[str, Any]] = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        key = " ".join(a for a in args[:2] if not a.startswith("-"))
        body = json.dumps(self.answers.get(key, listing())) if "-o" in args else ""
        return subprocess.CompletedProcess(args, 0, body, "")


def test_purge_removes_orphaned_webhooks_then_crds_then_claims_then_namespaces() -> None:
    fake = FakeKubectl(
        {
            "get mutatingwebhookconfigurations": listing(
                webhook(
                    "MutatingWebhookConfiguration",
                    "istio-revision-tag-stable",
                    ("istio-system", "istiod-1-30-3"),
                )
            ),
            "get crd": listing(
                {"metadata": {"name": "telemetries.telemetry.istio.io"}},
                {"metadata": {"name": "foos.example.com"}},
            ),
        }
    )
    items = [
        Kept("Istio's CRDs", "", crd_suffixes=(".istio.io",)),
        Kept("claim", "", ("-n", "tracing", "delete", "pvc", "jaeger-badger")),
        Kept("namespace", "", ("delete", "namespace", "tracing")),
    ]
    purge(items, fake)
    deletes = [call for call in fake.calls if "delete" in call]
    assert deletes == [
        ("delete", "mutatingwebhookconfigurations", "istio-revision-tag-stable"),
        ("delete", "crd", "telemetries.telemetry.istio.io"),
        ("-n", "tracing", "delete", "pvc", "jaeger-badger", "--ignore-not-found"),
        ("delete", "namespace", "tracing", "--ignore-not-found"),
    ]


def test_purge_refuses_while_istiod_still_runs() -> None:
    fake = FakeKubectl({"get deployments": listing({"metadata": {"name": "istiod-1-30-3"}})})
    with pytest.raises(RuntimeError, match="make destroy"):
        purge([Kept("namespace", "", ("delete", "namespace", "tracing"))], fake)
    assert not [call for call in fake.calls if "delete" in call]


def test_make_purge_fails_at_once_without_a_cluster(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        json.dumps(
            {
                "current-context": "gone",
                "contexts": [{"name": "gone", "context": {"cluster": "gone"}}],
                "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
            }
        )
    )
    started = time.monotonic()
    result = subprocess.run(
        ["make", "purge", "STACK=dev", f"VENV={tmp_path / 'venv'}"],
        cwd=PROJECT_DIR,
        env={
            "PATH": f"{Path(sys.base_prefix) / 'bin'}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "KUBECONFIG": str(config),
        },
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0 and "does not answer" in result.stderr
    assert "Pulumi CLI" not in result.stderr, "purge needs kubectl and the cluster, not Pulumi"
    assert time.monotonic() - started < 2
