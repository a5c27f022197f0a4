"""`make up` / `preview` / `destroy` stop at once, before installing anything, saying what to fix when the
CLI, the stack file, the passphrase or the cluster is missing."""

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts import preflight, stacks
from tests.program import PROJECT_DIR


def kubeconfig(path: Path, server: str) -> Path:
    # JSON is YAML too; the preflight reads either.
    path.write_text(
        json.dumps(
            {
                "current-context": "kind-test",
                "contexts": [{"name": "kind-test", "context": {"cluster": "kind"}}],
                "clusters": [{"name": "kind", "cluster": {"server": server}}],
            }
        )
    )
    return path


def closed_local_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


class FakeApiServer(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        body = json.dumps({"gitVersion": "v1.33.1"}).encode() if self.path == "/version" else b""
        self.send_response(self.status if self.path == "/version" else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def api_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_a_missing_pulumi_cli_is_reported_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight.shutil, "which", lambda _: None)
    problem = preflight.cli_problem()
    assert problem is not None and "Pulumi CLI is not installed" in problem
    assert "get.pulumi.com" in problem


def test_a_missing_stack_file_names_the_stack_and_how_to_create_it() -> None:
    path = stacks.stack_file("qa")
    assert path == PROJECT_DIR / "stacks" / "Pulumi.qa.yaml"
    problem = preflight.stack_file_problem(path, "qa")
    assert problem is not None
    assert "Stack 'qa' has no stack file stacks/Pulumi.qa.yaml" in problem
    assert "cp stacks/Pulumi.dev.yaml stacks/Pulumi.qa.yaml" in problem
    assert "--stack qa" in problem
    assert preflight.stack_file_problem(stacks.stack_file("dev"), "dev") is None


def test_an_api_server_that_answers_version_passes_and_says_which_kubernetes(
    tmp_path: Path, api_server: ThreadingHTTPServer
) -> None:
    config = kubeconfig(tmp_path / "config", f"http://127.0.0.1:{api_server.server_address[1]}")
    server, problem = preflight.api_server([config])
    assert problem is None and server is not None
    assert preflight.api_version(server) == ("v1.33.1", None)


def test_an_api_server_refusing_anonymous_requests_still_counts_as_answering(
    tmp_path: Path, api_server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeApiServer, "status", 401)
    server, _ = preflight.api_server(
        [kubeconfig(tmp_path / "config", f"http://127.0.0.1:{api_server.server_address[1]}")]
    )
    version, problem = preflight.api_version(server) if server else (None, "no server")
    assert problem is None and version is not None and "anonymous" in version


def test_a_port_that_accepts_connections_but_is_no_api_server_is_reported(tmp_path: Path) -> None:
    # A TCP connect alone would pass here: the listener accepts, then hangs up without answering.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        threading.Thread(target=lambda: listener.accept()[0].close(), daemon=True).start()
        server, _ = preflight.api_server(
            [kubeconfig(tmp_path / "config", f"http://127.0.0.1:{listener.getsockname()[1]}")]
        )
        assert server is not None
        version, problem = preflight.api_version(server)
    assert version is None and problem is not None and "does not answer" in problem


def test_an_unreachable_cluster_is_reported_within_seconds(tmp_path: Path) -> None:
    server, _ = preflight.api_server(
        [kubeconfig(tmp_path / "config", f"https://127.0.0.1:{closed_local_port()}")]
    )
    assert server is not None
    started = time.monotonic()
    _, problem = preflight.api_version(server)
    assert problem is not None and "does not answer" in problem and "kind create cluster" in problem
    assert time.monotonic() - started < preflight.TIMEOUT_SECONDS + 1


def test_a_yaml_kubeconfig_is_read_through_kubectl_when_pyyaml_is_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text("current-context: kind-test\n")  # YAML, not JSON
    fake_kubectl = tmp_path / "bin" / "kubectl"
    fake_kubectl.parent.mkdir()
    merged = json.loads(kubeconfig(tmp_path / "merged.json", "https://10.0.0.1:6443").read_text())
    fake_kubectl.write_text(f"#!/bin/sh\necho '{json.dumps(merged)}'\n")
    fake_kubectl.chmod(0o755)
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` raises ImportError
    monkeypatch.setenv("PATH", str(fake_kubectl.parent))
    server, problem = preflight.api_server([config])
    assert problem is None and server is not None and server.url == "https://10.0.0.1:6443"

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _, problem = preflight.api_server([config])
    assert problem is not None and "install kubectl" in problem


def test_a_missing_kubeconfig_says_to_set_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    _, problem = preflight.api_server([tmp_path / "absent"])
    assert problem is not None and "KUBECONFIG" in problem


def test_a_passphrase_is_required_where_the_shell_cannot_prompt_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    assert preflight.passphrase_problem("file:///state", encrypted=False, interactive=False) is not None
    assert preflight.passphrase_problem("file:///state", encrypted=False, interactive=True) is None
    assert preflight.passphrase_problem("https://api.pulumi.com", encrypted=False, interactive=False) is None
    # A stack file with `encryptionsalt` uses the passphrase provider whatever the backend.
    assert preflight.uses_passphrase(stacks.stack_file("prod"))
    assert (
        preflight.passphrase_problem("https://api.pulumi.com", encrypted=True, interactive=False) is not None
    )
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    assert preflight.passphrase_problem("file:///state", encrypted=True, interactive=False) is None


@pytest.mark.parametrize("target", ["preview", "up", "destroy", "jaeger-ui", "verify"])
def test_on_a_fresh_clone_without_the_cli_make_answers_in_under_a_second_and_installs_nothing(
    target: str, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"  # absent, as on a fresh clone: reaching the install step would create it
    env = {
        # Python without the project's venv, and no Pulumi CLI.
        "PATH": f"{Path(sys.base_prefix) / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig(tmp_path / "config", f"https://127.0.0.1:{closed_local_port()}")),
    }
    started = time.monotonic()
    result = subprocess.run(
        ["make", target, "STACK=dev", f"VENV={venv}"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "Pulumi CLI is not installed" in result.stderr
    assert "does not answer" in result.stderr
    assert "stack select" not in result.stdout, "make went on past the preflight"
    assert not venv.exists(), "make installed the venv before the preflight"
    assert elapsed < 1.0, f"{target} took {elapsed:.2f}s to fail"
