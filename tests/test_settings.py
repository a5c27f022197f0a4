"""Stack settings: presets, secrets, and bad input refused with one error that registers nothing."""

from typing import Any

import pytest

from settings import SettingsError
from tests.harness import REMOVE, Secret, revealed, run_program, run_program_expecting_error


def refused(stack: str = "dev", **kwargs: Any) -> SettingsError:
    """Runs the program expecting a settings error, and checks that nothing was registered."""
    error, registered = run_program_expecting_error(stack, **kwargs)
    assert isinstance(error, SettingsError), f"expected a SettingsError, got {error!r}"
    assert registered == [], (
        f"resources were registered despite invalid config: {[r.name for r in registered]}"
    )
    return error


BAD_INPUTS = [
    # overrides, key path, value shown, text of what is allowed
    pytest.param(
        {"tracing.samplingPercentage": 101},
        "tracing.samplingPercentage",
        "101",
        "less than or equal to 100",
        id="sampling above 100",
    ),
    pytest.param(
        {"tracing.samplingPercentage": -1},
        "tracing.samplingPercentage",
        "-1",
        "greater than or equal to 0",
        id="sampling below 0",
    ),
    pytest.param(
        {"tracing.samplingPercentage": "ten"},
        "tracing.samplingPercentage",
        '"ten"',
        "a valid number",
        id="sampling not a number",
    ),
    pytest.param(
        {"gateway.exposure": "moon"},
        "gateway.exposure",
        '"moon"',
        "'cluster', 'nodeport', 'internal' or 'public'",
        id="unknown exposure",
    ),
    pytest.param(
        {"gateway.exposure": REMOVE},
        "gateway.exposure",
        "(not set)",
        "a value is required",
        id="missing exposure",
    ),
    pytest.param(
        {"tracing.samplingPercentag": 5},
        "tracing.samplingPercentag",
        "(unknown key)",
        "one of samplingPercentage",
        id="typo in a key",
    ),
    pytest.param(
        {"istio.cniEnabled": "yes"}, "istio.cniEnabled", '"yes"', "a valid boolean", id="wrong type"
    ),
    pytest.param(
        {"istio.chartRepository": "ftp://mirror/istio"},
        "istio.chartRepository",
        '"ftp://mirror/istio"',
        "a string matching",
        id="unsupported chart repository scheme",
    ),
    pytest.param(
        {"istio.revision": "Canary_1"},
        "istio.revision",
        '"Canary_1"',
        "a string matching",
        id="revision that is not a DNS label",
    ),
    pytest.param(
        {"istio.istiod.resources.requests.cpu": "lots"},
        "istio.istiod.resources.requests.cpu",
        '"lots"',
        "a string matching",
        id="bad resource quantity",
    ),
    pytest.param(
        {"istio.istiod.maxReplicas": 0},
        "istio.istiod.maxReplicas",
        "0",
        "greater than or equal to 1",
        id="autoscaler max below min",
    ),
    pytest.param(
        {"istio.extraValues.istoid": {}},
        "istio.extraValues.istoid",
        "(unknown key)",
        "one of base, istiod, cni",
        id="typo in a chart name for extra values",
    ),
    pytest.param(
        {"tracng": {"samplingPercentage": 1}},
        "tracng",
        "(unknown key)",
        "one of bookinfo, environment, gateway, istio",
        id="unknown top-level key",
    ),
    pytest.param({"tracing": 5}, "tracing", "5", "a map of settings", id="section that is not a map"),
    pytest.param(
        {"jaeger.storage.kind": "s3"},
        "jaeger.storage.kind",
        '"s3"',
        "'memory', 'badger', 'elasticsearch', 'opensearch' or 'cassandra'",
        id="unknown storage kind",
    ),
    pytest.param(
        {"jaeger.storage": {"kind": "elasticsearch"}},
        "jaeger.storage.elasticsearch",
        "(not set)",
        "the existing cluster to use (serverUrls",
        id="elasticsearch without a cluster",
    ),
    pytest.param(
        {"jaeger.storage": {"kind": "opensearch", "opensearch": {"serverUrls": []}}},
        "jaeger.storage.opensearch.serverUrls",
        "[]",
        "at least 1 item",
        id="opensearch with no URLs",
    ),
    pytest.param(
        {"jaeger.storage": {"kind": "elasticsearch", "elasticsearch": {"serverUrls": ["es:9200"]}}},
        "jaeger.storage.elasticsearch.serverUrls.0",
        '"es:9200"',
        "a string matching",
        id="elasticsearch URL without a scheme",
    ),
    pytest.param(
        {"jaeger.storage.badger": {"size": "1Gi"}},
        "jaeger.storage.badger",
        "(set)",
        "only the block of storage.kind (memory)",
        id="a second storage block",
    ),
    pytest.param(
        {"jaeger.image": "jaegertracing/jaeger:latest"},
        "jaeger.image",
        '"jaegertracing/jaeger:latest"',
        "pinned to a version tag",
        id="unpinned jaeger image",
    ),
    pytest.param(
        {"tracing.backend": {"kind": "otlp", "port": 4317}},
        "tracing.backend.service",
        "(not set)",
        "the host of the otlp backend",
        id="external backend that references nothing",
    ),
    pytest.param(
        {"jaeger.enabled": False},
        "jaeger.enabled",
        "false",
        "true while tracing.backend.kind is jaeger",
        id="jaeger provider with jaeger disabled",
    ),
    pytest.param(
        {
            "tracing.backend": {
                "kind": "otlp",
                "service": "otlp.example.com",
                "port": 443,
                "tokenHeader": "x-token",
            }
        },
        "tracingBackendToken",
        "(not set)",
        "pulumi config set --secret tracingBackendToken",
        id="token header without its secret",
    ),
    pytest.param(
        {"tracing.customTags": {"team": {"literal": "a", "header": "x-team"}}},
        "tracing.customTags.team",
        '["literal", "header"]',
        "exactly one of literal, header, environment",
        id="custom tag with two sources",
    ),
    pytest.param(
        {
            "tracing.namespaceOverrides": [
                {"namespace": "a", "samplingPercentage": 1},
                {"namespace": "a", "samplingPercentage": 2},
            ]
        },
        "tracing.namespaceOverrides.1.namespace",
        '"a"',
        "each namespace once",
        id="the same namespace overridden twice",
    ),
    pytest.param(
        {"tracing.namespaceOverrides": [{"namespace": "a", "samplingPercentage": 101}]},
        "tracing.namespaceOverrides.0.samplingPercentage",
        "101",
        "less than or equal to 100",
        id="namespace override above 100",
    ),
    pytest.param(
        {"environment": "qa"}, "environment", '"qa"', "one of dev, staging, prod", id="unknown environment"
    ),
]


@pytest.mark.parametrize(("overrides", "path", "value", "allowed"), BAD_INPUTS)
def test_bad_input_is_refused_with_stack_path_value_and_what_is_allowed(
    overrides: dict[str, Any], path: str, value: str, allowed: str
) -> None:
    error = refused("dev", overrides=overrides)
    matching = [line for line in str(error).splitlines() if f"[stack dev] {path}:" in line]
    assert matching, f"no problem reported for {path}:\n{error}"
    assert f"got {value};" in matching[0]
    assert allowed in matching[0]


def test_every_problem_is_listed_in_a_single_error() -> None:
    error = refused(
        "staging",
        overrides={
            "tracing.samplingPercentage": 250,
            "gateway.exposure": "everywhere",
            "istio.version": "latest",
            "istio.istiod.minReplicas": 3,
            "istio.istiod.maxReplicas": 2,
        },
    )
    paths = sorted(p.path for p in error.problems)
    assert paths == ["gateway.exposure", "istio.version", "tracing.samplingPercentage"]
    assert "3 problems" in str(error)


def test_cross_key_rules_run_when_their_section_is_valid() -> None:
    error = refused(
        "staging",
        overrides={"istio.istiod.minReplicas": 3, "istio.istiod.maxReplicas": 2, "gateway.exposure": "x"},
    )
    assert sorted(p.path for p in error.problems) == ["gateway.exposure", "istio.istiod.maxReplicas"]


def test_prod_refuses_a_single_istiod_replica() -> None:
    error = refused("prod", overrides={"istio.istiod.minReplicas": 1, "istio.istiod.maxReplicas": 1})
    assert [p.path for p in error.problems] == ["istio.istiod.minReplicas"]
    assert "at least 2 in prod" in str(error)


def test_a_secret_given_in_plain_text_is_refused_without_echoing_it() -> None:
    error = refused(
        "dev", overrides={"istio.chartRepositoryUsername": "ci", "istioChartRepositoryPassword": "hunter2"}
    )
    assert "[stack dev] istioChartRepositoryPassword: got (plain text, value not shown)" in str(error)
    assert "pulumi config set --secret istioChartRepositoryPassword" in str(error)
    assert "hunter2" not in str(error)


def test_a_mirror_username_needs_its_password_secret() -> None:
    error = refused("dev", overrides={"istio.chartRepositoryUsername": "ci"})
    assert [p.path for p in error.problems] == ["istioChartRepositoryPassword"]


def test_the_mirror_password_reaches_the_charts_as_a_secret() -> None:
    run = run_program(
        "dev",
        overrides={"istio.chartRepositoryUsername": "ci"},
        secrets={"istioChartRepositoryPassword": "hunter2"},
    )
    for chart in ("istio-base", "istio-istiod"):
        # Pulumi marks the whole map that holds a secret as secret.
        credentials = run.named(chart).inputs["repositoryOpts"]
        assert isinstance(credentials, Secret), chart
        assert credentials.value["username"] == "ci"
        assert credentials.value["password"] == "hunter2"
    assert "hunter2" not in repr(run.outputs)


def test_a_stack_not_named_after_an_environment_picks_its_preset_by_key() -> None:
    run = run_program("prod", overrides={"environment": "prod"}, stack_name="prod-eu-west")
    values = run.named("istio-istiod").at("values")
    assert values["autoscaleMin"] == 2
    assert run.output("environment") == "prod"


def test_a_stack_not_named_after_an_environment_must_say_which_it_is() -> None:
    error = refused("dev", stack_name="feature-x")
    assert [p.path for p in error.problems] == ["environment"]
    assert "[stack feature-x] environment: got (not set)" in str(error)


def test_the_stack_file_overrides_the_preset() -> None:
    run = run_program(
        "prod", overrides={"istio.istiod.maxReplicas": 8, "istio.istiod.resources.requests.cpu": "1"}
    )
    values = run.named("istio-istiod").at("values")
    assert (values["autoscaleMin"], values["autoscaleMax"]) == (2, 8)
    assert values["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}


def test_prod_refuses_memory_storage_for_jaeger() -> None:
    error = refused("prod", overrides={"jaeger.storage": {"kind": "memory"}})
    assert [p.path for p in error.problems] == ["jaeger.storage.kind"]
    assert "memory loses every trace on restart" in str(error)


def test_prod_without_the_storage_password_secret_is_refused() -> None:
    error = refused("prod", secrets={})
    assert [p.path for p in error.problems] == ["jaegerStoragePassword"]
    assert "pulumi config set --secret jaegerStoragePassword" in str(error)


def test_the_storage_password_in_plain_text_is_refused_without_echoing_it() -> None:
    error = refused("prod", overrides={"jaegerStoragePassword": "pl41n-text"}, secrets={})
    assert "[stack prod] jaegerStoragePassword: got (plain text, value not shown)" in str(error)
    assert "pl41n-text" not in str(error)


def test_the_storage_password_reaches_only_a_kubernetes_secret() -> None:
    run = run_program("prod", secrets={"jaegerStoragePassword": "only-in-a-secret"})
    holders = [r.name for r in run.resources if "only-in-a-secret" in revealed(r.inputs)]
    assert holders == ["jaeger-storage-credentials"]
    assert not [r.name for r in run.resources if "only-in-a-secret" in repr(r.inputs)], "a plain-text copy"
    assert run.named("jaeger-storage-credentials").inputs["stringData"] == Secret(
        {"password": "only-in-a-secret"}
    )
    assert "only-in-a-secret" not in repr(run.outputs)


GATEWAY_BAD_INPUTS = [
    # stack, overrides, key path, text of what is allowed
    pytest.param(
        "prod",
        {"gateway.jaegerUi": {"access": "gateway", "host": "jaeger.example.com"}},
        "gateway.jaegerUi.allowedSourceRanges",
        "at least one CIDR: Jaeger has no authentication",
        id="public jaeger ui without an allowlist",
    ),
    pytest.param(
        "dev",
        {"gateway.tls.mode": "none"},
        "gateway.tls.mode",
        "a TLS mode while gateway.jaegerUi.access is gateway",
        id="jaeger ui on the gateway without tls",
    ),
    pytest.param(
        "staging",
        {"gateway.tls.acmeEmail": REMOVE},
        "gateway.tls.acmeEmail",
        "the Let's Encrypt account email",
        id="acme without an email",
    ),
    pytest.param(
        "prod",
        {"gateway.hosts": ["*"]},
        "gateway.hosts.0",
        "'*' (any host) only in dev",
        id="any host in prod",
    ),
    pytest.param(
        "staging",
        {"gateway.cloud": REMOVE},
        "gateway.cloud",
        "aws, gcp or azure",
        id="internal load balancer without a cloud",
    ),
    pytest.param(
        "staging",
        {"gateway.exposure": "lan"},
        "gateway.exposure",
        "'cluster', 'nodeport', 'internal' or 'public'",
        id="unknown exposure",
    ),
    pytest.param(
        "prod",
        {"gateway.nodePorts": {"https": 30443}},
        "gateway.nodePorts",
        "only with exposure nodeport",
        id="node ports on a load balancer",
    ),
    pytest.param(
        "dev",
        {"gateway.tls": {"mode": "existing"}},
        "gateway.tls.existingSecretName",
        "required with mode existing",
        id="existing tls without a secret",
    ),
    pytest.param(
        "prod",
        {"gateway.hosts": ["*.example.com"]},
        "gateway.hosts.0",
        "cannot issue wildcard",
        id="wildcard host with acme http-01",
    ),
    pytest.param(
        "prod",
        {"gateway.minReplicas": 1},
        "gateway.minReplicas",
        "at least 2 in prod",
        id="a single gateway replica in prod",
    ),
    pytest.param(
        "dev",
        {"gateway.jaegerUi.allowedSourceRanges": ["10.0.0.300/8"]},
        "gateway.jaegerUi.allowedSourceRanges.0",
        "does not appear to be an IPv4 or IPv6 network",
        id="allowlist entry that is not a network",
    ),
    pytest.param(
        "dev",
        {"gateway.nodePorts": {"http": 80}},
        "gateway.nodePorts.http",
        "greater than or equal to 30000",
        id="node port out of range",
    ),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "allowed"), GATEWAY_BAD_INPUTS)
def test_bad_gateway_input_is_refused(stack: str, overrides: dict[str, Any], path: str, allowed: str) -> None:
    error = refused(stack, overrides=overrides)
    matching = [p for p in error.problems if p.path == path]
    assert matching, f"no problem reported for {path}:\n{error}"
    assert allowed in matching[0].allowed
