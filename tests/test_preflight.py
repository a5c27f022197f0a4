"""`make up` / `make preview` stop at once, saying what to fix, when the CLI or the cluster is missing."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from scripts import preflight
from tests.program import PROJECT_DIR


def write_kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        yaml.safe_dump(
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


def test_a_missing_pulumi_cli_is_reported_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight.shutil, "which", lambda _: None)
    problem = preflight.cli_problem()
    assert problem is not None and "Pulumi CLI is not installed" in problem
    assert "get.pulumi.com" in problem


def test_an_unreachable_cluster_is_reported_within_seconds(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", f"https://127.0.0.1:{closed_local_port()}")
    server, problem = preflight.api_server([config])
    assert problem is None
    started = time.monotonic()
    unreachable = preflight.reachability_problem(server or "")
    assert unreachable is not None and "is not reachable" in unreachable
    assert time.monotonic() - started < preflight.CONNECT_TIMEOUT_SECONDS + 1


def test_a_reachable_api_server_passes(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        config = write_kubeconfig(tmp_path / "config", f"https://127.0.0.1:{listener.getsockname()[1]}")
        server, problem = preflight.api_server([config])
        assert problem is None and preflight.reachability_problem(server or "") is None


def test_a_missing_kubeconfig_says_to_set_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    _, problem = preflight.api_server([tmp_path / "absent"])
    assert problem is not None and "KUBECONFIG" in problem


def test_a_file_backend_without_a_passphrase_cannot_prompt_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    assert preflight.passphrase_problem("file:///state", interactive=False) is not None
    assert preflight.passphrase_problem("file:///state", interactive=True) is None
    assert preflight.passphrase_problem("https://api.pulumi.com", interactive=False) is None


@pytest.mark.parametrize("target", ["preview", "up"])
def test_make_target_fails_fast_without_cli_or_cluster(target: str, tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "KUBECONFIG": str(write_kubeconfig(tmp_path / "config", f"https://127.0.0.1:{closed_local_port()}")),
    }
    started = time.monotonic()
    result = subprocess.run(
        # The venv running these tests stands in for make's own: -o stops make from rebuilding it.
        ["make", "-o", f"{bin_dir}/.installed", target, "STACK=dev", f"BIN={bin_dir}"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert time.monotonic() - started < 15
    assert "Pulumi CLI is not installed" in result.stderr
    assert "is not reachable" in result.stderr
    assert "stack select" not in result.stdout, "make went on past the preflight"
