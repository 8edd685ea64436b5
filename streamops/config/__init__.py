"""Configuration: YAML loading with file/line for every value, validation, environment overrides.

Entry points: `load_configuration(config_dir)` → `LoadedConfig`, then
`validate_sections(loaded, schemas)`; every problem is a `ConfigError` printed as `FILE:LINE: message`.
"""

from .core_section import CORE_DOMAIN, CORE_SCHEMA
from .env_overrides import ENV_VARIABLES, apply_env_overrides, collect_env_overrides
from .errors import ConfigError, ConfigErrors
from .loading import CONFIG_FILE, LoadedConfig, load_configuration, validate_sections
from .validation import did_you_mean, validate
from .yaml_loader import (
    Input,
    LoadContext,
    NodeDict,
    NodeList,
    NodeStr,
    SecretStr,
    load_yaml,
    load_yaml_file,
    location_of,
    substitute_inputs,
)

__all__ = [
    "CONFIG_FILE",
    "CORE_DOMAIN",
    "CORE_SCHEMA",
    "ENV_VARIABLES",
    "ConfigError",
    "ConfigErrors",
    "Input",
    "LoadContext",
    "LoadedConfig",
    "NodeDict",
    "NodeList",
    "NodeStr",
    "SecretStr",
    "apply_env_overrides",
    "collect_env_overrides",
    "did_you_mean",
    "load_configuration",
    "load_yaml",
    "load_yaml_file",
    "location_of",
    "substitute_inputs",
    "validate",
    "validate_sections",
]
