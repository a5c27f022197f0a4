"""Stack settings: a stack's config, parsed once and validated, as the spec of one TracedMesh."""

from mesh_tracing.settings.environments import PRESETS, Environment
from mesh_tracing.settings.loader import (
    SECRETS,
    RawConfig,
    SettingsError,
    StackSettings,
    load_settings,
    parse_settings,
)

__all__ = [
    "PRESETS",
    "SECRETS",
    "Environment",
    "RawConfig",
    "SettingsError",
    "StackSettings",
    "load_settings",
    "parse_settings",
]
