"""Stack settings: parsed once from Pulumi config, validated, and handed to the components as typed values."""

from settings.loader import Problem, SettingsError, StackSettings, load_settings, parse_settings
from settings.model import MeshSettings

__all__ = ["MeshSettings", "Problem", "SettingsError", "StackSettings", "load_settings", "parse_settings"]
