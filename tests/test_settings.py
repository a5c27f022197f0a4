"""Stack settings: presets, secrets, and bad input refused with one error that registers nothing."""

from typing import Any

from mesh_tracing.settings import SettingsError
from mesh_tracing.tooling.recorder import REMOVE, Secret, revealed
from tests.program import run_program, run_program_expecting_error


def refused(stack: str = "dev", **kwargs: Any) -> SettingsError:
    """Runs the program expecting a settings error, and checks that nothing was registered."""
    error, registered = run_program_expecting_error(stack, **kwargs)
    assert isinstance(error, SettingsError), f"expected a SettingsError, got {error!r}"
    assert registered == [], (
        f"resources were registered despite invalid config: {[r.name for r in registered]}"
    )
    return error


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
    paths = sorted(error.paths)
    assert paths == ["gateway.exposure", "istio.version", "tracing.samplingPercentage"]
    assert "3 problems" in str(error)


def test_cross_key_rules_run_when_their_section_is_valid() -> None:
    error = refused(
        "staging",
        overrides={"istio.istiod.minReplicas": 3, "istio.istiod.maxReplicas": 2, "gateway.exposure": "x"},
    )
    assert sorted(error.paths) == ["gateway.exposure", "istio.istiod.maxReplicas"]


def test_prod_refuses_a_single_istiod_replica() -> None:
    error = refused("prod", overrides={"istio.istiod.minReplicas": 1, "istio.istiod.maxReplicas": 1})
    assert error.paths == ["istio.istiod.minReplicas"]
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
    assert error.paths == ["istioChartRepositoryPassword"]


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
    assert error.paths == ["environment"]
    assert "[stack feature-x] environment: got (not set)" in str(error)
    assert "pulumi config set environment <dev|staging|prod> --stack feature-x" in str(error)


def test_the_stack_file_overrides_the_preset() -> None:
    run = run_program(
        "prod", overrides={"istio.istiod.maxReplicas": 8, "istio.istiod.resources.requests.cpu": "1"}
    )
    values = run.named("istio-istiod").at("values")
    assert (values["autoscaleMin"], values["autoscaleMax"]) == (2, 8)
    assert values["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}


def test_prod_refuses_memory_storage_for_jaeger() -> None:
    error = refused("prod", overrides={"jaeger.storage": {"kind": "memory"}})
    assert error.paths == ["jaeger.storage.kind"]
    assert "memory loses every trace on restart" in str(error)


def test_prod_without_the_storage_password_secret_is_refused_with_the_command_for_that_stack() -> None:
    error = refused("prod", overrides={"jaegerStoragePassword": REMOVE})
    assert error.paths == ["jaegerStoragePassword"]
    assert "pulumi config set --secret jaegerStoragePassword <value> --stack prod" in str(error)


def test_the_storage_password_in_plain_text_is_refused_without_echoing_it() -> None:
    error = refused("prod", overrides={"jaegerStoragePassword": "pl41n-text"})
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


def test_a_stack_may_choose_another_storage_kind_than_its_preset() -> None:
    run = run_program("dev", overrides={"jaeger.storage": {"kind": "badger", "badger": {"size": "2Gi"}}})
    assert run.output("jaegerStorage") == "badger"
    assert run.named("jaeger-badger").at("spec", "resources", "requests", "storage") == "2Gi"


def test_a_fraction_set_from_the_cli_as_text_is_read_as_that_number() -> None:
    # `pulumi config set --path tracing.samplingPercentage 0.5` stores the text "0.5".
    run = run_program("dev", overrides={"tracing.samplingPercentage": "0.5"})
    telemetry = run.named("tracing-mesh-default")
    assert telemetry.at("spec", "tracing", 0, "randomSamplingPercentage") == 0.5


def test_whole_numbers_set_as_text_are_read_as_integers() -> None:
    run = run_program("staging", overrides={"istio.istiod.minReplicas": "2", "istio.istiod.maxReplicas": "4"})
    values = run.named("istio-istiod").at("values")
    assert (values["autoscaleMin"], values["autoscaleMax"]) == (2, 4)


def test_text_that_is_not_a_number_is_still_refused_where_a_number_is_expected() -> None:
    error = refused(
        "dev",
        overrides={"tracing.samplingPercentage": "half", "istio.istiod.minReplicas": "2.5"},
    )
    assert sorted(error.paths) == ["istio.istiod.minReplicas", "tracing.samplingPercentage"]
    assert 'tracing.samplingPercentage: got "half"; allowed: a valid number' in str(error)


def test_sampling_finer_than_istios_step_of_a_hundredth_is_refused() -> None:
    error = refused("dev", overrides={"tracing.samplingPercentage": 0.125})
    assert error.paths == ["tracing.samplingPercentage"]
    assert "a multiple of 0.01" in str(error)
    fine = run_program("dev", overrides={"tracing.samplingPercentage": 0.07}).named("tracing-mesh-default")
    assert fine.at("spec", "tracing", 0, "randomSamplingPercentage") == 0.07


def test_reading_one_stack_leaves_nothing_behind_for_the_next() -> None:
    # A secret's placeholder once landed in the shared preset: the next stack then ran with it.
    fresh = run_program("staging").named("grafana-admin").dependencies
    run_program("staging", secrets={"grafanaAdminPassword": "chosen"})
    run_program("prod", secrets={"jaegerStoragePassword": "other"})
    assert run_program("staging").named("grafana-admin").dependencies == fresh
    assert any("RandomPassword::grafana-admin-password" in urn for urn in fresh)
