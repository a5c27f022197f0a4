"""Checks that a mesh's traces connect, on what Jaeger's query API returns (`GET /api/traces`, Jaeger v2.20:
`{"data": [trace], "errors": ...}`, a trace being `{traceID, spans, processes}`, a span
`{spanID, references: [{refType, spanID}], tags: [{key, value}], processID}`).

Standard library only: the same file runs on a laptop (`make verify`) and in the cluster (the optional
check Job, which mounts it), so it has no dependency to install.

    python trace_checks.py --jaeger URL --namespace bookinfo --sampling 100 --rate 2 \\
        [--tag environment=dev ...] [--window 120] [--wait 300]
"""

import argparse
import json
import math
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

APP = "productpage"
HOPS = (("productpage", "details"), ("productpage", "reviews"), ("reviews", "ratings"))
"""Bookinfo's calls: each is a client span in the caller's sidecar and a server span in the callee's."""
SIDECAR_NODE = "sidecar~"
"""How an Istio sidecar's Envoy names itself (`node_id` tag); a gateway's starts with `router~`."""
MAX_TRACES = 10_000
"""The most traces one query asks for: far above what a check window holds."""
SIGMAS = 4
"""Tolerance of the sampling check: the observed count may be this many standard deviations from the
expected one (binomial), and at least a tenth of it or 2 traces."""
Trace = Mapping[str, Any]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class UnreachableError(Exception):
    """Jaeger's query API did not answer."""


def _tags(span: Mapping[str, Any]) -> dict[str, Any]:
    return {tag["key"]: tag.get("value") for tag in span.get("tags") or []}


def _service(trace: Trace, span: Mapping[str, Any]) -> str:
    return str(trace["processes"].get(span.get("processID"), {}).get("serviceName", ""))


def _parent(span: Mapping[str, Any]) -> str | None:
    refs = [r for r in span.get("references") or [] if r.get("refType") == "CHILD_OF"]
    return str(refs[0]["spanID"]) if refs else None


def app_service(namespace: str) -> str:
    """The product page's service name in Jaeger: Istio names a sidecar's spans `<app>.<namespace>`."""
    return f"{APP}.{namespace}"


def trace_link(jaeger: str, trace: Trace | None) -> str | None:
    """The Jaeger UI's page of `trace`."""
    return f"{jaeger.rstrip('/')}/trace/{trace['traceID']}" if trace else None


def services_of(trace: Trace) -> set[str]:
    return {_service(trace, span) for span in trace["spans"]}


def complete(traces: Sequence[Trace], namespace: str) -> Trace | None:
    """The first trace through all four of Bookinfo's services (ratings is called by reviews v2 and v3)."""
    wanted = {f"{app}.{namespace}" for hop in HOPS for app in hop}
    return next((t for t in traces if wanted <= services_of(t)), None)


def orphans(trace: Trace) -> list[str]:
    """Spans whose parent is not in the trace: a hop that reported nothing, or a broken propagation."""
    ids = {span["spanID"] for span in trace["spans"]}
    return [span["spanID"] for span in trace["spans"] if (parent := _parent(span)) and parent not in ids]


def missing_hops(trace: Trace, namespace: str) -> list[str]:
    """Hops without a client span in the caller's sidecar parenting a server span in the callee's."""
    spans = {span["spanID"]: span for span in trace["spans"]}
    missing = []
    for caller, callee in HOPS:
        found = any(
            _tags(span).get("span.kind") == "server"
            and _service(trace, span) == f"{callee}.{namespace}"
            and (parent := spans.get(_parent(span) or ""))
            and _tags(parent).get("span.kind") == "client"
            and _service(trace, parent) == f"{caller}.{namespace}"
            for span in trace["spans"]
        )
        if not found:
            missing.append(f"{caller} → {callee}")
    return missing


def not_from_sidecars(trace: Trace, namespace: str) -> list[str]:
    """Bookinfo spans whose `node_id` is not a sidecar's."""
    return [
        f"{span['spanID']} ({_service(trace, span)})"
        for span in trace["spans"]
        if _service(trace, span).endswith(f".{namespace}")
        and not str(_tags(span).get("node_id", "")).startswith(SIDECAR_NODE)
    ]


def missing_tags(trace: Trace, namespace: str, expected: Mapping[str, str | None]) -> list[str]:
    """Expected tags (a value, or None for any value) missing from the sidecars' spans."""
    problems = set()
    for span in trace["spans"]:
        if not _service(trace, span).endswith(f".{namespace}"):
            continue
        tags = _tags(span)
        for key, value in expected.items():
            if key not in tags:
                problems.add(f"{key} (absent)")
            elif value is not None and str(tags[key]) != value:
                problems.add(f"{key}={tags[key]!r}, expected {value!r}")
    return sorted(problems)


def sampling(traced: int, requests: int, percentage: float) -> Check:
    """Whether `traced` of `requests` is consistent with sampling `percentage` %."""
    p = percentage / 100
    expected = requests * p
    tolerance = max(SIGMAS * math.sqrt(requests * p * (1 - p)), expected / 10, 2)
    ok = abs(traced - expected) <= tolerance
    detail = (
        f"{traced} traces for {requests} requests; at {percentage:g} % expected {expected:.1f} "
        f"± {tolerance:.1f} ({SIGMAS} standard deviations, at least 10 % or 2)"
    )
    return Check("sampling matches the stack's rate", ok, detail)


def evaluate(
    traces: Sequence[Trace],
    *,
    namespace: str,
    tags: Mapping[str, str | None],
    percentage: float,
    requests: int,
) -> tuple[list[Check], Trace | None]:
    """Every check on the traces of a window in which `requests` requests reached the product page."""
    count, service = len(traces), app_service(namespace)
    if not traces:
        return [Check("traces arrive", False, f"no trace of {service} in the window")], None
    checks = [Check("traces arrive", True, f"{count} traces of {service}")]
    trace = complete(traces, namespace)
    if trace is None:
        seen = sorted(set().union(*(services_of(t) for t in traces)))
        checks.append(
            Check("one trace spans Bookinfo", False, f"no trace has all four services; seen: {seen}")
        )
        return checks, None
    checks.append(Check("one trace spans Bookinfo", True, f"trace {trace['traceID']}"))
    lost = orphans(trace)
    checks.append(
        Check("no orphan spans", not lost, f"parent missing for {lost}" if lost else "every parent is there")
    )
    hops = missing_hops(trace, namespace)
    checks.append(
        Check(
            "client and server span on each hop", not hops, f"missing: {hops}" if hops else "all three hops"
        )
    )
    strangers = not_from_sidecars(trace, namespace)
    checks.append(
        Check(
            "spans come from the sidecars",
            not strangers,
            f"not a sidecar: {strangers}" if strangers else "node_id sidecar~…",
        )
    )
    absent = missing_tags(trace, namespace, {"node_id": None, **tags})
    checks.append(
        Check(
            "configured tags are present",
            not absent,
            f"{absent}" if absent else ", ".join(["node_id", *tags]),
        )
    )
    checks.append(sampling(count, requests, percentage))
    return checks, trace


def fetch(
    jaeger: str, service: str, start: float, end: float, limit: int = MAX_TRACES, context: Any = None
) -> list[Trace]:
    """The traces of `service` between `start` and `end` (seconds since the epoch), from Jaeger's API."""
    query = urllib.parse.urlencode(
        {"service": service, "start": int(start * 1e6), "end": int(end * 1e6), "limit": limit}
    )
    url = f"{jaeger.rstrip('/')}/api/traces?{query}"
    try:
        with urllib.request.urlopen(url, timeout=15, context=context) as response:
            body = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise UnreachableError(
            f"Jaeger's query API at {jaeger} does not answer: {getattr(error, 'reason', error)}"
        ) from error
    if body.get("errors"):
        raise UnreachableError(f"Jaeger's query API answered with errors: {body['errors']}")
    return list(body.get("data") or [])


def report(checks: Iterable[Check], link: str | None) -> str:
    lines = [f"{'ok ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in checks]
    if link:
        lines.append(f"trace: {link}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--jaeger", required=True, help="Jaeger's query URL (UI and API), e.g. http://jaeger-query:16686"
    )
    parser.add_argument("--namespace", required=True, help="Bookinfo's namespace")
    parser.add_argument("--sampling", type=float, required=True, help="the stack's sampling percentage")
    parser.add_argument("--rate", type=float, required=True, help="the load generator's requests per second")
    parser.add_argument(
        "--tag", action="append", default=[], help="a tag every sidecar span carries: key or key=value"
    )
    parser.add_argument("--window", type=int, default=120, help="seconds of traffic to look at")
    parser.add_argument("--wait", type=int, default=300, help="seconds to wait for a first complete trace")
    options = parser.parse_args(argv)
    tags = {t.split("=", 1)[0]: (t.split("=", 1)[1] if "=" in t else None) for t in options.tag}
    service = app_service(options.namespace)
    deadline = time.time() + options.wait
    try:
        while True:
            end = time.time()
            traces = fetch(options.jaeger, service, end - options.window, end)
            if complete(traces, options.namespace) or time.time() > deadline:
                break
            print(
                f"waiting for a complete trace of {service} ({int(deadline - time.time())}s left)", flush=True
            )
            time.sleep(15)
    except UnreachableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    checks, trace = evaluate(
        traces,
        namespace=options.namespace,
        tags=tags,
        percentage=options.sampling,
        requests=round(options.rate * options.window),
    )
    print(report(checks, trace_link(options.jaeger, trace)))
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
