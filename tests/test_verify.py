"""`make verify` and the trace check Job: the checks on responses in the format of Jaeger v2.20.0's query
API (`GET /api/traces`: the `structuredResponse` of `jaegerquery/internal/http_handler.go`, traces in the
`uimodel` of `internal/uimodel/model.go`), the reach of the API, and the Job that runs them in the cluster."""

import copy
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from mesh_tracing.tooling import trace_checks, verify
from mesh_tracing.tooling.trace_checks import UnreachableError, evaluate, fetch
from tests.program import run_program
from tests.test_preflight import closed_local_port
from tests.test_settings import refused

NAMESPACE = "bookinfo"
TRACE_ID = "83a9efd15c1c98a977e0711cc93ee28b"


def span(span_id: str, parent: str | None, process: str, kind: str, node: str, **tags: str) -> dict[str, Any]:
    """A span as the query API returns it: tags typed, references by refType, the process by id."""
    all_tags = {"span.kind": kind, "node_id": node, "component": "proxy", **tags}
    return {
        "traceID": TRACE_ID,
        "spanID": span_id,
        "operationName": f"{process}:9080/*",
        "references": [{"refType": "CHILD_OF", "traceID": TRACE_ID, "spanID": parent}] if parent else [],
        "startTime": 1764700000000000,
        "duration": 1200,
        "tags": [{"key": k, "type": "string", "value": v} for k, v in all_tags.items()],
        "logs": [],
        "processID": process,
        "warnings": None,
    }


def sidecar(app: str) -> str:
    return f"sidecar~10.244.0.7~{app}-v1-6d9f8c7b5-x2x7z.{NAMESPACE}~{NAMESPACE}.svc.cluster.local"


def bookinfo_trace(environment: str = "dev") -> dict[str, Any]:
    """The trace of one request: gateway → productpage → details and reviews → ratings, each hop a client span
    in the caller's proxy and a server span in the callee's."""
    env = {"environment": environment}
    spans = [
        span(
            "a0",
            None,
            "gw",
            "server",
            "router~10.244.0.3~istio-ingressgateway-5f.istio-ingress~istio-ingress.svc.cluster.local",
        ),
        span(
            "a1",
            "a0",
            "gw",
            "client",
            "router~10.244.0.3~istio-ingressgateway-5f.istio-ingress~istio-ingress.svc.cluster.local",
        ),
        span("b0", "a1", "productpage", "server", sidecar("productpage"), **env),
        span("b1", "b0", "productpage", "client", sidecar("productpage"), **env),
        span("c0", "b1", "details", "server", sidecar("details"), **env),
        span("b2", "b0", "productpage", "client", sidecar("productpage"), **env),
        span("d0", "b2", "reviews", "server", sidecar("reviews"), **env),
        span("d1", "d0", "reviews", "client", sidecar("reviews"), **env),
        span("e0", "d1", "ratings", "server", sidecar("ratings"), **env),
    ]
    processes = {
        "gw": {"serviceName": "istio-ingressgateway.istio-ingress", "tags": []},
        **{
            app: {"serviceName": f"{app}.{NAMESPACE}", "tags": []}
            for app in ("productpage", "details", "reviews", "ratings")
        },
    }
    return {"traceID": TRACE_ID, "spans": spans, "processes": processes, "warnings": None}


def response(traces: list[dict[str, Any]], errors: Any = None) -> dict[str, Any]:
    return {"data": traces, "total": 0, "limit": 0, "offset": 0, "errors": errors}


def checks_of(
    traces: list[dict[str, Any]], requests: int = 1, percentage: float = 100
) -> dict[str, trace_checks.Check]:
    checks, _ = evaluate(
        traces, namespace=NAMESPACE, tags={"environment": "dev"}, percentage=percentage, requests=requests
    )
    return {c.name: c for c in checks}


def test_a_healthy_trace_passes_every_check() -> None:
    checks, trace = evaluate(
        [bookinfo_trace()], namespace=NAMESPACE, tags={"environment": "dev"}, percentage=100, requests=1
    )
    assert [c.name for c in checks if not c.ok] == []
    assert trace is not None and trace["traceID"] == TRACE_ID
    assert "trace: http://jaeger/trace/" + TRACE_ID in trace_checks.report(
        checks, f"http://jaeger/trace/{TRACE_ID}"
    )


def test_a_broken_hop_shows_as_an_orphan_span_and_a_missing_hop() -> None:
    broken = bookinfo_trace()
    ratings = next(s for s in broken["spans"] if s["spanID"] == "e0")
    ratings["references"][0]["spanID"] = "ffffffffffffffff"  # its parent never reported
    checks = checks_of([broken])
    assert not checks["no orphan spans"].ok and "e0" in checks["no orphan spans"].detail
    assert not checks["client and server span on each hop"].ok
    assert "reviews → ratings" in checks["client and server span on each hop"].detail


def test_a_trace_without_a_service_does_not_span_bookinfo() -> None:
    partial = bookinfo_trace()
    partial["spans"] = [s for s in partial["spans"] if s["processID"] != "ratings"]
    check = checks_of([partial])["one trace spans Bookinfo"]
    assert not check.ok and "productpage.bookinfo" in check.detail


def test_no_traces_fail_with_the_service_that_was_searched() -> None:
    check = checks_of([])["traces arrive"]
    assert not check.ok and "productpage.bookinfo" in check.detail


def test_spans_not_from_sidecars_and_missing_tags_fail() -> None:
    wrong = bookinfo_trace(environment="prod")
    for item in wrong["spans"]:
        if item["processID"] == "details":
            item["tags"] = [t for t in item["tags"] if t["key"] != "node_id"]
    checks = checks_of([wrong])
    assert (
        not checks["spans come from the sidecars"].ok
        and "details" in checks["spans come from the sidecars"].detail
    )
    tags = checks["configured tags are present"]
    assert (
        not tags.ok
        and "environment='prod', expected 'dev'" in tags.detail
        and "node_id (absent)" in tags.detail
    )


@pytest.mark.parametrize(
    ("traced", "requests", "percentage", "ok"),
    [
        (240, 240, 100, True),
        (10, 240, 100, False),
        (3, 240, 1, True),
        (40, 240, 1, False),
        (22, 240, 10, True),
    ],
)
def test_the_sampled_share_must_match_the_stacks_rate_within_the_stated_tolerance(
    traced: int, requests: int, percentage: float, ok: bool
) -> None:
    check = trace_checks.sampling(traced, requests, percentage)
    assert check.ok is ok, check.detail
    assert "4 standard deviations" in check.detail


class FakeJaeger(BaseHTTPRequestHandler):
    """Jaeger's query API, answering `/api/traces` with a canned body and recording the query."""

    body: ClassVar[dict[str, Any]] = response([])
    queries: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != "/api/traces":
            self.send_response(404)
            self.end_headers()
            return
        type(self).queries.append(parse_qs(url.query))
        data = json.dumps(type(self).body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def jaeger(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(FakeJaeger, "queries", [])
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJaeger)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_api_is_queried_for_the_window_in_microseconds(
    jaeger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeJaeger, "body", response([bookinfo_trace()]))
    traces = fetch(jaeger, "productpage.bookinfo", 1000.0, 1120.0, 500)
    assert [t["traceID"] for t in traces] == [TRACE_ID]
    (query,) = FakeJaeger.queries
    assert query == {
        "service": ["productpage.bookinfo"],
        "start": ["1000000000"],
        "end": ["1120000000"],
        "limit": ["500"],
    }


def test_errors_from_the_api_or_no_answer_at_all_are_reported_as_unreachable(
    jaeger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeJaeger, "body", {"data": None, "errors": [{"code": 500, "msg": "storage down"}]})
    with pytest.raises(UnreachableError, match="storage down"):
        fetch(jaeger, "productpage.bookinfo", 0, 1, 1)
    with pytest.raises(UnreachableError, match="does not answer"):
        fetch(f"http://127.0.0.1:{closed_local_port()}", "productpage.bookinfo", 0, 1, 1)


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """The check as the Job runs it: the module file alone, with the standard library only."""
    script = Path(trace_checks.__file__)
    return subprocess.run(
        [sys.executable, "-I", str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=script.parent.parent.parent,
    )


def test_the_job_script_runs_alone_and_its_exit_code_is_the_result(
    jaeger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    healthy = [copy.deepcopy(bookinfo_trace()) for _ in range(120)]
    monkeypatch.setattr(FakeJaeger, "body", response(healthy))
    args = [
        "--jaeger",
        jaeger,
        "--namespace",
        NAMESPACE,
        "--rate",
        "1",
        "--window",
        "120",
        "--wait",
        "0",
        "--tag",
        "environment=dev",
    ]
    passed = run_script(*args, "--sampling", "100")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"trace: {jaeger}/trace/{TRACE_ID}" in passed.stdout
    failed = run_script(*args, "--sampling", "1")
    assert failed.returncode == 1 and "FAIL sampling matches the stack's rate" in failed.stdout
    gone = run_script(
        "--jaeger",
        f"http://127.0.0.1:{closed_local_port()}",
        "--namespace",
        NAMESPACE,
        "--sampling",
        "1",
        "--rate",
        "1",
        "--wait",
        "0",
    )
    assert gone.returncode == 2 and "does not answer" in gone.stderr


def test_verify_reads_where_to_look_from_the_stacks_outputs() -> None:
    dev = verify.target(run_program("dev").outputs)
    assert dev.jaeger == "https://jaeger.localtest.me:8443" and dev.untrusted_tls
    assert dev.forwards == ("kubectl -n istio-ingress port-forward svc/istio-ingressgateway 8443:443",)
    assert (dev.rate, dev.sampling, dev.tags) == (2.0, 100.0, {"environment": "dev"})
    staging = verify.target(run_program("staging").outputs)
    assert staging.forwards[0] == "kubectl -n tracing port-forward svc/jaeger-query 16686:16686"
    assert staging.rate is None, "no load generator in staging: verify sends its own burst"
    with pytest.raises(verify.CannotCheckError, match=r"bookinfo\.enabled"):
        verify.target(run_program("prod").outputs)


def test_the_check_job_is_off_by_default_and_hardened_when_on() -> None:
    assert not run_program("dev").of_type("mesh-tracing:index:TraceCheck")
    run = run_program("dev", overrides={"bookinfo.traceCheck.enabled": True})
    job = run.named("trace-check-job")
    assert job.at("metadata", "annotations") == {"pulumi.com/skipAwait": "true"}
    pod = job.at("spec", "template", "spec")
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["args"] == [
        "--namespace=bookinfo",
        "--jaeger=http://jaeger-query.tracing.svc.cluster.local:16686",
        "--sampling=100",
        "--rate=2",
        "--window=120",
        "--wait=300",
        "--tag=environment=dev",
    ]
    script = run.named("trace-check-script").at("data")
    assert script == {"trace_checks.py": Path(trace_checks.__file__).read_text()}
    assert job.at("spec", "template", "metadata", "labels")["sidecar.istio.io/inject"] == "false"


def test_the_check_job_needs_the_load_generators_traffic() -> None:
    error = refused("staging", overrides={"bookinfo.traceCheck.enabled": True})
    assert error.paths == ["bookinfo.traceCheck.enabled"]
