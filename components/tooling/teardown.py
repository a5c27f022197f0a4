"""What `make destroy` keeps, and the purge that removes it for good.

    python -m mesh_tracing.tooling.teardown kept STACK      # after `pulumi destroy`: what stayed, and why
    python -m mesh_tracing.tooling.teardown purge STACK     # remove it, after a deliberate confirmation

`pulumi destroy` deletes in dependency order (the apps and the gateway, then the Istio resources, then
istiod, then the CRDs' chart) and keeps what holds data or the mesh's types: resources marked retain-on-
delete, and what the charts' retain transforms mark. What was kept is read from the stack's own plan, so the
report names exactly this stack's objects. The purge also removes injection and validation webhooks that
point at an istiod that is gone: left behind (by a failed destroy, or an `istioctl tag` made by hand), they
make every pod creation in their namespaces fail.
"""

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesh_tracing.helm import retain_claims, retain_crds
from mesh_tracing.tooling.plan import plan_document
from mesh_tracing.tooling.recorder import Project

TIMEOUT_SECONDS = 30
"""How long any one kubectl call may take."""
CONFIRM_VARIABLE = "PURGE_CONFIRM"


@dataclass(frozen=True)
class Kept:
    """Something `pulumi destroy` left in the cluster on purpose."""

    what: str
    why: str
    purge: tuple[str, ...] = ()
    """kubectl arguments that remove it."""
    crd_suffixes: tuple[str, ...] = ()
    """CustomResourceDefinitions to delete, by the end of their name."""


def _chart(resource: Mapping[str, Any]) -> str:
    return str(resource["inputs"].get("chart", "")).rsplit("/", 1)[-1]


def kept(plan: Mapping[str, Any]) -> list[Kept]:
    """What destroying the stack of `plan` keeps, CRDs first, namespaces last."""
    items: list[Kept] = []
    namespaces: list[Kept] = []
    for resource in plan.get("resources", []):
        options, inputs = resource.get("options", {}), resource["inputs"]
        kind = resource["type"].rsplit(":", 1)[-1]
        transforms = options.get("transforms", [])
        if retain_crds.__name__ in transforms and _chart(resource) == "base":
            items.append(
                Kept(
                    "Istio's CustomResourceDefinitions (*.istio.io)",
                    "deleting them deletes every Istio resource in the cluster",
                    crd_suffixes=(".istio.io",),
                )
            )
        stateful = _chart(resource) == "prometheus" and inputs["values"]["server"]["statefulSet"]["enabled"]
        if retain_claims.__name__ in transforms and not stateful:
            release, namespace = inputs["name"], inputs["namespace"]
            items.append(
                Kept(
                    f"the volume claims of {_chart(resource)} in {namespace}",
                    "they hold its data",
                    ("-n", namespace, "delete", "pvc", "-l", f"app.kubernetes.io/instance={release}"),
                )
            )
        if stateful:
            namespace = inputs["namespace"]
            items.append(
                Kept(
                    f"the Prometheus servers' volume claims in {namespace}",
                    "a StatefulSet's claims outlive it",
                    ("-n", namespace, "delete", "pvc", "-l", "app.kubernetes.io/name=prometheus"),
                )
            )
        keeps_crds = inputs.get("helmOptions", {}).get("values", {}).get("crds", {}).get("keep")
        if resource["type"] == "kubernetes-cert-manager:index:CertManager" and keeps_crds:
            items.append(
                Kept(
                    "cert-manager's CustomResourceDefinitions (*.cert-manager.io)",
                    "its chart keeps them (`crds.keep`); deleting them deletes every certificate",
                    crd_suffixes=("cert-manager.io",),
                )
            )
        if options.get("retainOnDelete"):
            metadata = inputs.get("metadata", {})
            if kind == "Namespace":
                namespaces.append(
                    Kept(
                        f"the namespace {metadata['name']}",
                        "deleting a namespace deletes the volume claims in it",
                        ("delete", "namespace", metadata["name"]),
                    )
                )
            elif kind == "PersistentVolumeClaim":
                items.append(
                    Kept(
                        f"the volume claim {metadata['namespace']}/{metadata['name']}",
                        "it holds the traces",
                        ("-n", metadata["namespace"], "delete", "pvc", metadata["name"]),
                    )
                )
    return items + namespaces


def report(stack: str, items: list[Kept]) -> str:
    if not items:
        return f"`make destroy STACK={stack}` keeps nothing: the stack is gone."
    lines = [f"`make destroy STACK={stack}` kept, on purpose (the next `make up` adopts them):"]
    lines += [f"  - {item.what}: {item.why}" for item in items]
    lines.append(
        f"To remove them for good (and any webhook left pointing at a gone istiod): make purge STACK={stack}"
    )
    return "\n".join(lines)


def confirmed(stack: str, answer: str | None, environment: Mapping[str, str]) -> bool:
    """Purging needs the exact phrase `purge <stack>`, typed, or the stack's name in PURGE_CONFIRM: never a
    bare `y`, and never another stack's name."""
    if environment.get(CONFIRM_VARIABLE) is not None:
        return environment[CONFIRM_VARIABLE] == stack
    return answer is not None and answer.strip() == f"purge {stack}"


def orphan_webhooks(configurations: Mapping[str, Any], services: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) of webhook configurations whose every webhook calls an istiod Service that does not
    exist. `configurations` and `services` are `kubectl get ... -o json` lists."""
    existing = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in services.get("items", [])}
    orphans = []
    for configuration in configurations.get("items", []):
        targets = [
            (hook["clientConfig"]["service"]["namespace"], hook["clientConfig"]["service"]["name"])
            for hook in configuration.get("webhooks") or []
            if "service" in hook.get("clientConfig", {})
        ]
        if targets and all(name.startswith("istiod") and (ns, name) not in existing for ns, name in targets):
            orphans.append((configuration["kind"], configuration["metadata"]["name"]))
    return orphans


Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", f"--request-timeout={TIMEOUT_SECONDS}s", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS + 5,
        check=False,
    )


def _json(run: Kubectl, *args: str) -> dict[str, Any]:
    done = run(*args, "-o", "json")
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def purge(items: list[Kept], run: Kubectl = kubectl) -> list[str]:
    """Removes what was kept, and orphaned istiod webhooks. Returns what it did, in order."""
    if _json(run, "get", "deployments", "--all-namespaces", "-l", "app=istiod")["items"]:
        raise RuntimeError("istiod still runs: `make destroy` the stack first, then purge what it kept")
    done = []
    for kind in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
        configurations = _json(run, "get", kind)
        services = _json(run, "get", "services", "--all-namespaces")
        for _, name in orphan_webhooks(configurations, services):
            run("delete", kind, name)
            done.append(f"deleted {kind} {name} (its istiod is gone)")
    for item in items:
        if item.crd_suffixes:
            names = [c["metadata"]["name"] for c in _json(run, "get", "crd")["items"]]
            for name in sorted(n for n in names if n.endswith(item.crd_suffixes)):
                run("delete", "crd", name)
                done.append(f"deleted crd {name}")
        if item.purge:
            result = run(*item.purge, "--ignore-not-found")
            done.append(
                f"kubectl {' '.join(item.purge)}: {(result.stdout or result.stderr).strip() or 'done'}"
            )
    return done


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["kept", "purge"])
    parser.add_argument("stack")
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="the Pulumi project's directory")
    options = parser.parse_args(argv)
    project = Project(options.project.resolve())
    items = kept(plan_document(options.stack, project.run(options.stack)))
    if options.action == "kept":
        print(report(options.stack, items))
        return 0
    print(report(options.stack, items).replace("kept, on purpose", "keeps"))
    answer = None
    if CONFIRM_VARIABLE not in os.environ:
        if not sys.stdin.isatty():
            print(
                f"error: nothing purged: set {CONFIRM_VARIABLE}={options.stack} to confirm without a terminal",
                file=sys.stderr,
            )
            return 2
        answer = input(f"This deletes data for good. Type 'purge {options.stack}' to go on: ")
    if not confirmed(options.stack, answer, os.environ):
        print("error: not confirmed; nothing purged", file=sys.stderr)
        return 2
    try:
        for line in purge(items):
            print(line)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
