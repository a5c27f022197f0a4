"""The Jaeger v2.20 config keys our rendered configs may use, to catch a misspelt key (which Jaeger would
reject at startup, or worse, ignore). Key names are from Jaeger's storage config structs
(`internal/storage/.../config.go`, `cmd/internal/storageconfig`) and OpenTelemetry's `configtls`.
`ANY` marks a leaf whose value is not a map of keys.
"""

from typing import Any

ANY: None = None

TLS_CLIENT = {
    k: ANY
    for k in (
        "insecure",
        "insecure_skip_verify",
        "server_name_override",
        "ca_file",
        "ca_pem",
        "cert_file",
        "cert_pem",
        "key_file",
        "key_pem",
        "include_system_ca_certs_pool",
        "min_version",
        "max_version",
        "reload_interval",
    )
}
INDEX_OPTIONS = {
    k: ANY for k in ("priority", "date_layout", "shards", "replicas", "rollover_frequency", "rotation")
}
SEARCH = {
    "server_urls": ANY,
    "remote_read_clusters": ANY,
    "auth": {
        "basic": {k: ANY for k in ("username", "password", "password_file", "reload_interval")},
        "bearer_token": {k: ANY for k in ("file_path", "from_context", "reload_interval")},
        "api_key": {k: ANY for k in ("file_path", "from_context", "reload_interval")},
    },
    "tls": TLS_CLIENT,
    "sniffing": {"enabled": ANY, "use_https": ANY},
    "disable_health_check": ANY,
    "send_get_body_as": ANY,
    "query_timeout": ANY,
    "http_compression": ANY,
    "bulk_processing": {k: ANY for k in ("max_bytes", "max_actions", "flush_interval", "workers")},
    "version": ANY,
    "log_level": ANY,
    "indices": {
        "index_prefix": ANY,
        **{index: INDEX_OPTIONS for index in ("spans", "services", "dependencies", "sampling")},
    },
    "create_mappings": ANY,
    "max_doc_count": ANY,
    "max_span_age": ANY,
    "service_cache_ttl": ANY,
    "adaptive_sampling_lookback": ANY,
    "tags_as_fields": {k: ANY for k in ("all", "dot_replacement", "config_file", "include")},
}
BACKENDS: dict[str, Any] = {
    "memory": {"max_traces": ANY},
    "badger": {
        "directories": {"keys": ANY, "values": ANY},
        "ephemeral": ANY,
        "ttl": {"spans": ANY},
        "consistency": ANY,
        "maintenance_interval": ANY,
        "metrics_update_interval": ANY,
        "read_only": ANY,
    },
    "elasticsearch": SEARCH,
    "opensearch": SEARCH,
    "cassandra": {
        "schema": {
            k: ANY
            for k in (
                "keyspace",
                "disable_compression",
                "create",
                "datacenter",
                "trace_ttl",
                "dependencies_ttl",
                "replication_factor",
                "compaction_window",
            )
        },
        "connection": {
            **{
                k: ANY
                for k in (
                    "servers",
                    "local_dc",
                    "port",
                    "disable_auto_discovery",
                    "connections_per_host",
                    "reconnect_interval",
                    "socket_keep_alive",
                    "timeout",
                    "proto_version",
                )
            },
            "tls": TLS_CLIENT,
            "auth": {"basic": {"username": ANY, "password": ANY, "allowed_authenticators": ANY}},
        },
        "query": {"timeout": ANY, "max_retry_attempts": ANY, "consistency": ANY},
    },
}
EXTENSIONS: dict[str, Any] = {
    "healthcheckv2": {"use_v2": ANY, "http": {"endpoint": ANY, "status": ANY, "config": ANY}, "grpc": ANY},
    "jaeger_query": {
        "storage": {"traces": ANY, "traces_archive": ANY, "metrics": ANY},
        "base_path": ANY,
        "ui": ANY,
        "http": {"endpoint": ANY},
        "grpc": {"endpoint": ANY},
        "max_clock_skew_adjust": ANY,
    },
}


def unknown_keys(document: Any, allowed: Any, path: str = "") -> list[str]:
    """Paths in `document` that `allowed` does not list."""
    if allowed is ANY or not isinstance(document, dict):
        return []
    found = []
    for key, value in document.items():
        if key not in allowed:
            found.append(f"{path}{key}")
        else:
            found += unknown_keys(value, allowed[key], f"{path}{key}.")
    return found


LISTENER = {"endpoint": ANY}
RECEIVERS: dict[str, Any] = {
    "otlp": {"protocols": {"grpc": LISTENER, "http": LISTENER}},
    # The top-level `endpoint` is deprecated since contrib v0.128.0; `protocols.http` is current.
    "zipkin": {"protocols": {"http": LISTENER}, "parse_string_tags": ANY},
    "nop": ANY,
}
DEPRECATED = {"receivers.zipkin.endpoint"}
"""Keys Jaeger v2.20 still accepts but its components have replaced."""


# The Monitor tab (SPM): jaegertracing/jaeger @ v2.20.0 `internal/config/promcfg/config.go`,
# `internal/storage/metricstore/prometheus/options.go`; opentelemetry-collector-contrib
# `connector/spanmetricsconnector/config.go`, `exporter/prometheusexporter/config.go`.
METRIC_BACKENDS: dict[str, Any] = {
    "prometheus": {
        **{
            k: ANY
            for k in (
                "endpoint",
                "connect_timeout",
                "token_file_path",
                "token_override_from_context",
                "metric_namespace",
                "latency_unit",
                "normalize_calls",
                "normalize_duration",
                "extra_query_parameters",
            )
        },
        "tls": TLS_CLIENT,
        "auth": ANY,
    }
}
CONNECTORS: dict[str, Any] = {
    "spanmetrics": {
        k: ANY
        for k in (
            "dimensions",
            "calls_dimensions",
            "exclude_dimensions",
            "histogram",
            "namespace",
            "metrics_flush_interval",
            "metrics_expiration",
            "aggregation_temporality",
            "exemplars",
            "events",
            "resource_metrics_key_attributes",
            "dimensions_cache_size",
            "include_instrumentation_scope",
        )
    },
    "forward": ANY,
}
EXPORTERS: dict[str, Any] = {
    "jaeger_storage_exporter": {"trace_storage": ANY},
    "prometheus": {
        k: ANY
        for k in (
            "endpoint",
            "namespace",
            "const_labels",
            "send_timestamps",
            "metric_expiration",
            "resource_to_telemetry_conversion",
            "enable_open_metrics",
            "add_metric_suffixes",
            "tls",
        )
    },
    "nop": ANY,
}
