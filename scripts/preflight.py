"""Checks what `make up`, `make preview` and `make destroy` need, and stops at once with what to fix.

    python3 -m scripts.preflight STACK                  # make up / preview / destroy / jaeger-ui / verify
    python3 -m scripts.preflight --cluster-only STACK   # make purge: kubectl and the cluster, no Pulumi

It runs before anything is installed, with the standard library only, so a fresh clone without the Pulumi
CLI is told so in well under a second. Without it, a missing cluster shows up minutes later as a Kubernetes
provider timeout, and a missing passphrase as a prompt that a CI job waits on forever.
"""

import base64
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import stacks

TIMEOUT_SECONDS = 5
"""How long the API server has to answer `/version`."""


def cli_problem() -> str | None:
    if shutil.which("pulumi"):
        return None
    return (
        "The Pulumi CLI is not installed or not on PATH. Install it (https://www.pulumi.com/docs/install/, "
        "e.g. `curl -fsSL https://get.pulumi.com | sh`), then run this again."
    )


def stack_file_problem(path: Path, stack: str) -> str | None:
    if path.is_file():
        return None
    shown = path.relative_to(stacks.PROJECT_DIR)
    return (
        f"Stack '{stack}' has no stack file {shown}. Create it from another stack's, e.g. "
        f"`cp {shown.with_name('Pulumi.dev.yaml')} {shown}`, and set its environment if its name is not one: "
        f"`pulumi config set environment dev --stack {stack}`."
    )


def passphrase_problem(backend_url: str, encrypted: bool, interactive: bool) -> str | None:
    """The passphrase secrets provider (a file backend's default, or a stack file with `encryptionsalt`)
    prompts for its passphrase; a shell that cannot answer would wait forever."""
    has_passphrase = "PULUMI_CONFIG_PASSPHRASE" in os.environ or "PULUMI_CONFIG_PASSPHRASE_FILE" in os.environ
    if not (encrypted or backend_url.startswith("file://")) or has_passphrase or interactive:
        return None
    return (
        "Pulumi will ask for the passphrase that encrypts this stack's secrets, and this shell cannot answer. "
        "Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)."
    )


def uses_passphrase(path: Path) -> bool:
    return path.is_file() and re.search(r"^encryptionsalt:", path.read_text(), re.MULTILINE) is not None


@dataclass(frozen=True)
class ApiServer:
    url: str
    ca_pem: str | None = None
    verify: bool = True


def kubeconfig_paths() -> list[Path]:
    if os.environ.get("KUBECONFIG"):
        return [Path(p) for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def read_kubeconfig(paths: list[Path]) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The kubeconfig documents. YAML needs PyYAML (the project's venv has it) or kubectl, which prints
    the merged config as JSON; neither is needed when the kubeconfig is JSON."""
    texts = [p.read_text() for p in paths if p.is_file()]
    try:
        import yaml

        return [yaml.safe_load(text) or {} for text in texts], None
    except ImportError:
        pass
    try:
        return [json.loads(text) for text in texts], None
    except json.JSONDecodeError:
        pass
    if not shutil.which("kubectl"):
        return None, "Cannot read the kubeconfig: install kubectl (or run `make venv` first)."
    result = subprocess.run(
        ["kubectl", "config", "view", "--raw", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        return None, f"kubectl cannot read the kubeconfig: {result.stderr.strip()}"
    return [json.loads(result.stdout)], None


def api_server(paths: list[Path]) -> tuple[ApiServer | None, str | None]:
    """The API server of the current kubeconfig context, or a problem if there is none."""
    if not any(p.is_file() for p in paths):
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            ca = Path("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")
            return ApiServer(
                f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{port}",
                ca.read_text() if ca.is_file() else None,
            ), None
        where = ", ".join(str(p) for p in paths)
        return None, f"No kubeconfig found ({where}). Point KUBECONFIG at your cluster's kubeconfig."
    documents, problem = read_kubeconfig(paths)
    if documents is None:
        return None, problem
    context = next((d["current-context"] for d in documents if d.get("current-context")), None)
    contexts = {c["name"]: c["context"] for d in documents for c in d.get("contexts") or []}
    clusters = {c["name"]: c["cluster"] for d in documents for c in d.get("clusters") or []}
    if not context or context not in contexts:
        return None, f"Kubeconfig context {context!r} not found. Pick one with `kubectl config use-context`."
    cluster = clusters.get(contexts[context].get("cluster", ""))
    if not cluster or not cluster.get("server"):
        return None, f"Kubeconfig context {context!r} names no cluster with a server address."
    ca_pem = None
    if cluster.get("certificate-authority-data"):
        ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
    elif cluster.get("certificate-authority"):
        ca_pem = Path(cluster["certificate-authority"]).expanduser().read_text()
    return ApiServer(cluster["server"], ca_pem, not cluster.get("insecure-skip-tls-verify", False)), None


def api_version(server: ApiServer) -> tuple[str | None, str | None]:
    """Asks the API server for `/version`: more than a TCP connect, it proves a Kubernetes API answers at
    that address with a certificate the kubeconfig trusts. Anonymous requests may be refused (401/403);
    that answer is a Kubernetes API too."""
    context = (
        ssl.create_default_context(cadata=server.ca_pem) if server.ca_pem else ssl.create_default_context()
    )
    if not server.verify:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(
        server.url.rstrip("/") + "/version", headers={"Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS, context=context) as response:
            return str(json.load(response).get("gitVersion", "(version not given)")), None
    except urllib.error.HTTPError as refused:
        if refused.code in (401, 403):
            return "(version not shown to anonymous requests)", None
        reason = f"answered HTTP {refused.code} to /version, which a Kubernetes API server does not"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = str(getattr(error, "reason", error))
    return None, (
        f"The Kubernetes API server {server.url} does not answer ({reason}). "
        "Start the cluster (e.g. `kind create cluster`) or fix KUBECONFIG, then run this again."
    )


def kubectl_problem() -> str | None:
    if shutil.which("kubectl"):
        return None
    return "kubectl is not installed or not on PATH (https://kubernetes.io/docs/tasks/tools/)."


def problems(
    stack: str, backend_url: str, interactive: bool, cluster_only: bool = False
) -> tuple[list[str], str | None]:
    """Every problem found, and the API server's version when it answers."""
    path = stacks.stack_file(stack)
    checks = (
        (kubectl_problem(), stack_file_problem(path, stack))
        if cluster_only
        else (
            cli_problem(),
            stack_file_problem(path, stack),
            passphrase_problem(backend_url, uses_passphrase(path), interactive),
        )
    )
    found = [p for p in checks if p]
    server, config_problem = api_server(kubeconfig_paths())
    if server is None:
        return [*found, *([config_problem] if config_problem else [])], None
    version, unreachable = api_version(server)
    return [*found, *([unreachable] if unreachable else [])], version and f"{server.url} ({version})"


def main(argv: list[str]) -> int:
    cluster_only = "--cluster-only" in argv
    names = [a for a in argv if a != "--cluster-only"]
    stack = names[0] if names else "dev"
    found, cluster = problems(
        stack, os.environ.get("PULUMI_BACKEND_URL", ""), sys.stdin.isatty(), cluster_only
    )
    for problem in found:
        print(f"preflight: {problem}", file=sys.stderr)
    if not found:
        print(f"preflight: stack {stack}, Kubernetes API at {cluster}")
    return 2 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
