"""Checks what `make up` and `make preview` need, and stops at once with what to fix.

Without it, a missing cluster shows up minutes later as a Kubernetes provider timeout, and a missing
passphrase as a prompt that a CI job waits on forever.
"""

import os
import shutil
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

CONNECT_TIMEOUT_SECONDS = 5


def cli_problem() -> str | None:
    if shutil.which("pulumi"):
        return None
    return (
        "The Pulumi CLI is not installed or not on PATH. Install it (https://www.pulumi.com/docs/install/, "
        "e.g. `curl -fsSL https://get.pulumi.com | sh`), then run this again."
    )


def passphrase_problem(backend_url: str, interactive: bool) -> str | None:
    uses_passphrase = backend_url.startswith("file://")
    has_passphrase = "PULUMI_CONFIG_PASSPHRASE" in os.environ or "PULUMI_CONFIG_PASSPHRASE_FILE" in os.environ
    if not uses_passphrase or has_passphrase or interactive:
        return None
    return (
        "The local state backend encrypts secrets with a passphrase, and this shell cannot prompt for it. "
        "Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)."
    )


def kubeconfig_paths() -> list[Path]:
    if os.environ.get("KUBECONFIG"):
        return [Path(p) for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def api_server(paths: list[Path]) -> tuple[str | None, str | None]:
    """The API server URL of the current kubeconfig context, or a problem if there is none."""
    documents = [yaml.safe_load(p.read_text()) or {} for p in paths if p.is_file()]
    if not documents:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            return f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{port}", None
        where = ", ".join(str(p) for p in paths)
        return None, f"No kubeconfig found ({where}). Point KUBECONFIG at your cluster's kubeconfig."
    context = next((d["current-context"] for d in documents if d.get("current-context")), None)
    contexts = {c["name"]: c["context"] for d in documents for c in d.get("contexts") or []}
    clusters = {c["name"]: c["cluster"] for d in documents for c in d.get("clusters") or []}
    if not context or context not in contexts:
        return None, f"Kubeconfig context {context!r} not found. Pick one with `kubectl config use-context`."
    cluster = clusters.get(contexts[context].get("cluster", ""))
    if not cluster or not cluster.get("server"):
        return None, f"Kubeconfig context {context!r} names no cluster with a server address."
    return cluster["server"], None


def reachability_problem(server: str) -> str | None:
    url = urlparse(server)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=CONNECT_TIMEOUT_SECONDS):
            return None
    except OSError as error:
        return (
            f"The Kubernetes API server {server} is not reachable ({error}). "
            "Start the cluster (e.g. `kind create cluster`) or fix KUBECONFIG, then run this again."
        )


def problems(backend_url: str, interactive: bool) -> list[str]:
    found = [p for p in (cli_problem(), passphrase_problem(backend_url, interactive)) if p]
    server, config_problem = api_server(kubeconfig_paths())
    if config_problem:
        found.append(config_problem)
    elif server:
        found += [p for p in [reachability_problem(server)] if p]
    return found


def main() -> int:
    backend = os.environ.get("PULUMI_BACKEND_URL", "")
    found = problems(backend, sys.stdin.isatty())
    for problem in found:
        print(f"preflight: {problem}", file=sys.stderr)
    return 2 if found else 0


if __name__ == "__main__":
    sys.exit(main())
