"""The error tree: each class says whether retrying can help."""

from __future__ import annotations


class ScanautoError(Exception):
    """Base of every error we raise on purpose; the CLI prints it as one line."""

    retriable = False
    exit_code = 1


class ConfigError(ScanautoError):
    """Settings, files or arguments are wrong: fix them, retrying will not help."""

    exit_code = 2


class InputError(ScanautoError):
    """Input data (a video, a list file) is missing or unreadable."""

    exit_code = 3


class BrokerUnavailable(ScanautoError):
    """Kafka cannot be reached now; retrying later can succeed."""

    retriable = True
    exit_code = 4
