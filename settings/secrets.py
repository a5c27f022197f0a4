"""Secret config keys. Each is a top-level key so that Pulumi encrypts it on its own and the program can
check that it really was set with `pulumi config set --secret`."""

ISTIO_CHART_REPOSITORY_PASSWORD = "istioChartRepositoryPassword"
JAEGER_STORAGE_PASSWORD = "jaegerStoragePassword"
TRACING_BACKEND_TOKEN = "tracingBackendToken"

SECRETS: dict[str, str] = {
    ISTIO_CHART_REPOSITORY_PASSWORD: "the password for istio.chartRepositoryUsername (private chart mirror)",
    JAEGER_STORAGE_PASSWORD: "the password of the Jaeger storage user (Elasticsearch, OpenSearch, Cassandra)",
    TRACING_BACKEND_TOKEN: "the access token sent in tracing.backend.tokenHeader to an external OTLP backend",
}
"""Secret config keys and what they are for."""


def set_command(key: str) -> str:
    return f"pulumi config set --secret {key} <value>"
