"""Errors of the composition root (configuration)."""


class HotlineError(Exception):
    """Root of the hotline package's errors."""


class ConfigError(HotlineError):
    """A setting is missing, malformed or unsafe for the environment."""
