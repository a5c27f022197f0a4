"""`make verify STACK=<stack>`: proof, after `make up`, that the stack's traces connect.

It reads the stack's outputs (`pulumi stack output`), reaches Jaeger's query API as they say (the gateway
URL, or a port-forward it opens and closes), and runs the checks of `trace_checks` on the product page's
traces: one trace across Bookinfo's hops, client and server spans from the sidecars, the configured tags,
and a sampled share consistent with the stack's rate over the load generator's traffic. Without a load
generator, it sends a bounded burst of requests through the gateway itself. Every wait is bounded and says
what it waits for. Exit 0: all checks pass; 1: a check fails; 2: it could not check.
"""

import argparse
import json
import shlex
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from mesh_tracing.tooling import trace_checks

PORT_FORWARD_WAIT = 20
"""Seconds a port-forward has to start listening."""
UNTRUSTED_TLS = ("selfsigned", "acme-staging")
"""Gateway certificates no client trusts by default (dev's own CA, Let's Encrypt's staging)."""


class CannotCheckError(Exception):
    """What `make verify` needs is missing: the outputs, Bookinfo, a reachable API."""


@dataclass(frozen=True)
class Target:
    """What the stack's outputs say about where to look."""

    jaeger: str
    namespace: str
    product_page: str
    environment: str
    sampling: float
    rate: float | None
    tags: dict[str, str | None]
    forwards: tuple[str, ...]
    untrusted_tls: bool


def target(outputs: Mapping[str, Any]) -> Target:
    """The target of a stack, from its outputs; `CannotCheckError` names what is missing."""
    needed = ("jaegerUi", "bookinfoNamespace", "productPageUrl", "environment", "samplingPercentage")
    missing = [name for name in needed if name not in outputs]
    if missing:
        raise CannotCheckError(
            f"the stack's outputs lack {', '.join(missing)}: `make verify` needs the in-cluster Jaeger and "
            "Bookinfo (bookinfo.enabled: true)"
        )
    forwards = [outputs["jaegerUiPortForward"]] if "jaegerUiPortForward" in outputs else []
    gateway = str(outputs.get("gatewayAddress", ""))
    # Dev's hosts (`*.localtest.me`) resolve to 127.0.0.1, where the gateway's port-forward listens.
    if gateway.startswith("kubectl ") and any(
        urlparse(str(outputs[name])).hostname not in ("localhost", "127.0.0.1")
        for name in ("jaegerUi", "productPageUrl")
    ):
        forwards.append(gateway)  # the gateway itself is reached through a port-forward
    tags: dict[str, str | None] = {name: None for name in outputs.get("tracingTags", [])}
    if "environment" in tags:
        tags["environment"] = str(outputs["environment"])
    return Target(
        jaeger=str(outputs["jaegerUi"]),
        namespace=str(outputs["bookinfoNamespace"]),
        product_page=str(outputs["productPageUrl"]),
        environment=str(outputs["environment"]),
        sampling=float(outputs["samplingPercentage"]),
        rate=float(outputs["loadGeneratorRate"]) if "loadGeneratorRate" in outputs else None,
        tags=tags,
        forwards=tuple(str(f) for f in forwards),
        untrusted_tls=outputs.get("gatewayTls") in UNTRUSTED_TLS,
    )


def stack_outputs(stack: str) -> dict[str, Any]:
    try:
        done = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--stack", stack],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise CannotCheckError("`pulumi stack output` did not answer within 60s") from error
    if done.returncode != 0:
        raise CannotCheckError(f"`pulumi stack output --stack {stack}` failed: {done.stderr.strip()}")
    outputs: dict[str, Any] = json.loads(done.stdout)
    return outputs


def _local_port(command: str) -> int:
    """The local port of `kubectl ... port-forward svc/x LOCAL:REMOTE`."""
    return int(shlex.split(command)[-1].split(":")[0])


@contextmanager
def port_forward(command: str) -> Iterator[None]:
    """Runs `command` (a `kubectl port-forward`) until the block ends; fails when it does not listen in time."""
    port = _local_port(command)
    process = subprocess.Popen(
        shlex.split(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + PORT_FORWARD_WAIT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read() if process.poll() is not None and process.stderr else ""
                    raise CannotCheckError(
                        f"`{command}` did not listen on {port} within {PORT_FORWARD_WAIT}s {error.strip()}"
                    ) from None
                time.sleep(0.5)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _context(untrusted: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if untrusted:  # the stack's own CA, or Let's Encrypt staging: reached for a check, not trusted
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def _request(url: str) -> urllib.request.Request:
    return urllib.request.Request(url, headers={"User-Agent": "mesh-tracing-verify"})


def burst(url: str, count: int, context: ssl.SSLContext) -> int:
    """Sends `count` requests to the product page; returns how many were answered."""
    answered = 0
    for _ in range(count):
        try:
            with urllib.request.urlopen(_request(url), timeout=10, context=context) as response:
                answered += response.status < 500
        except (urllib.error.URLError, OSError):
            continue
        time.sleep(0.05)
    return answered


def check(goal: Target, window: int, count: int, settle: int) -> tuple[list[trace_checks.Check], str | None]:
    context = _context(goal.untrusted_tls)
    with ExitStack() as forwards:
        for command in goal.forwards:
            forwards.enter_context(port_forward(command))
        started = time.time()
        if goal.rate is None:
            print(f"no load generator: sending {count} requests to {goal.product_page}", flush=True)
            requests = burst(goal.product_page, count, context)
            if requests == 0:
                raise CannotCheckError(f"none of {count} requests to {goal.product_page} was answered")
            print(f"waiting {settle}s for the proxies to report the spans", flush=True)
            time.sleep(settle)
            start, end = started - 1, time.time()
        else:
            end = time.time()
            start, requests = end - window, round(goal.rate * window)
        service = trace_checks.app_service(goal.namespace)
        try:
            traces = trace_checks.fetch(goal.jaeger, service, start, end, context=context)
        except trace_checks.UnreachableError as error:
            raise CannotCheckError(str(error)) from error
    checks, trace = trace_checks.evaluate(
        traces, namespace=goal.namespace, tags=goal.tags, percentage=goal.sampling, requests=requests
    )
    return checks, trace_checks.trace_link(goal.jaeger, trace)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stack")
    parser.add_argument("--window", type=int, default=120, help="seconds of load-generator traffic to check")
    parser.add_argument("--burst", type=int, default=100, help="requests to send without a load generator")
    parser.add_argument("--settle", type=int, default=15, help="seconds to wait after a burst")
    options = parser.parse_args(argv)
    try:
        goal = target(stack_outputs(options.stack))
        checks, link = check(goal, options.window, options.burst, options.settle)
    except CannotCheckError as error:
        print(f"error: cannot verify stack {options.stack}: {error}", file=sys.stderr)
        return 2
    print(trace_checks.report(checks, link))
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
