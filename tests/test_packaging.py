"""The package as a consumer gets it: installed from the repository into a fresh virtual environment, under
the one import name `mesh_tracing`, and the Python example program run from there under the mock engine."""

import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import mesh_tracing
from tests.program import PROJECT_DIR

CONSUMER = PROJECT_DIR / "examples" / "python-consumer"
UV = Path(sys.executable).parent / "uv"


def run(command: list[str], cwd: Path, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def consumer_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the Python example's requirements: this repository, as a path, and what it needs.
    Installed from the example's directory, as Pulumi installs a program's requirements."""
    venv = tmp_path_factory.mktemp("consumer") / "venv"
    run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=CONSUMER)
    python = venv / "bin" / "python"
    run(
        [str(UV), "pip", "install", "--quiet", "--python", str(python), "-r", "requirements.txt"],
        cwd=CONSUMER,
    )
    yield python


def test_the_repository_installs_as_mesh_tracing_and_nothing_else_top_level(
    consumer_venv: Path, tmp_path: Path
) -> None:
    where = run(
        [
            str(consumer_venv),
            "-c",
            "import mesh_tracing, sysconfig, json; "
            "print(json.dumps([mesh_tracing.__file__, mesh_tracing.__version__, sysconfig.get_paths()['purelib']]))",
        ],
        cwd=tmp_path,
    )
    module, version, site_packages = json.loads(where.stdout)
    assert Path(module).parent == Path(site_packages) / "mesh_tracing"
    assert version == mesh_tracing.__version__
    ours = [
        path.name
        for path in Path(site_packages).iterdir()
        if path.name in {"components", "settings", "tooling", "tests", "scripts", "policy", "provider"}
    ]
    assert ours == [], "a top-level package that collides with a consumer's own folders"
    for subpackage in ("settings", "tooling"):
        assert (Path(site_packages) / "mesh_tracing" / subpackage / "__init__.py").exists(), subpackage
    assert (Path(site_packages) / "mesh_tracing" / "py.typed").exists(), "type checkers see our types"
    (license_file,) = Path(site_packages).glob("mesh_tracing-*.dist-info/licenses/LICENSE")
    assert license_file.read_text() == (PROJECT_DIR / "LICENSE").read_text()


def test_the_license_file_is_the_license_the_package_declares() -> None:
    declared = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "Apache-2.0"
    text = (PROJECT_DIR / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text


def test_the_python_consumer_runs_under_the_mock_engine_from_its_fresh_venv(
    consumer_venv: Path, tmp_path: Path
) -> None:
    # The stack file holds the password as `pulumi config set --secret` writes it: a `secure:` value.
    stack_file = yaml.safe_load((CONSUMER / "Pulumi.shop-prod.yaml").read_text())
    ciphertext = stack_file["config"]["platform-tracing:elasticsearchPassword"]["secure"]
    run(
        [
            str(consumer_venv),
            "-m",
            "mesh_tracing.tooling.plan",
            "--project",
            str(CONSUMER),
            "--out",
            str(tmp_path),
        ],
        cwd=tmp_path,
    )
    plan = yaml.safe_load((tmp_path / "shop-prod.yaml").read_text())
    resources = {r["name"]: r for r in plan["resources"]}
    # An existing istiod: no control plane of our own, the gateway on the cluster's revision tag.
    assert not [r for r in plan["resources"] if r["type"] == "mesh-tracing:index:IstioControlPlane"]
    assert resources["shop-gateway-chart"]["inputs"]["values"]["revision"] == "prod-stable"
    # The mesh reports to the cluster's own provider, at this stack's rate.
    (rule,) = resources["tracing-mesh-default"]["inputs"]["spec"]["tracing"]
    assert rule == {"providers": [{"name": "otel"}], "randomSamplingPercentage": 2}
    # Jaeger on the external Elasticsearch, its password only in a Secret, shown redacted.
    config = yaml.safe_load(resources["traces-collector-config"]["inputs"]["data"]["config.yaml"])
    backend = config["extensions"]["jaeger_storage"]["backends"]["traces"]["elasticsearch"]
    assert backend["server_urls"] == ["https://search-es-http.search.svc.cluster.local:9200"]
    assert resources["traces-storage-credentials"]["inputs"]["stringData"] == {
        "password": "[secret: redacted]"
    }
    assert ciphertext not in (tmp_path / "shop-prod.yaml").read_text()
    assert plan["outputs"]["collector"] == "traces-collector.observability.svc.cluster.local:4317"
