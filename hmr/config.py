"""Config validation against the JSON schema, with one-line errors naming the key."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from hmr.errors import InputError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(InputError):
    """The config does not match the schema; the message is one line naming the key."""


def _format_checker():
    import jsonschema

    checker = jsonschema.FormatChecker()

    @checker.checks("existing-file")
    def _file(value: object) -> bool:
        return not isinstance(value, str) or Path(value).is_file()

    @checker.checks("existing-dir")
    def _dir(value: object) -> bool:
        return not isinstance(value, str) or Path(value).is_dir()

    return checker


def _key_path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _one_line(error, source: str) -> str:
    key = _key_path(error)
    msg = error.message
    m = re.match(r"Additional properties are not allowed \((.*) (?:was|were) unexpected\)", msg)
    if m:
        return f"{source}: {key}: unknown key(s) {m.group(1)}"
    if error.validator == "format":
        what = "file" if error.validator_value == "existing-file" else "folder"
        return f"{source}: {key}: {what} not found: {error.instance}"
    if error.validator == "required":
        return f"{source}: {key}: {msg}"
    return f"{source}: {key}: {msg}"


def validate_config(config: Mapping[str, Any], source: str = "config.yaml",
                    schema_path: str | os.PathLike = SCHEMA_PATH) -> dict[str, Any]:
    """Validate ``config``; return it as a plain dict or raise :class:`ConfigError`."""
    import jsonschema

    with open(schema_path) as fh:
        schema = yaml.safe_load(fh)
    validator = jsonschema.Draft7Validator(schema, format_checker=_format_checker())
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        # the deepest error names the offending key most precisely
        deepest = max(errors, key=lambda e: len(e.absolute_path))
        raise ConfigError(_one_line(jsonschema.exceptions.best_match([deepest]), source))
    preview = config["preview"]["dataset"]
    if preview not in config["datasets"]:
        raise ConfigError(f"{source}: preview.dataset: '{preview}' is not a dataset in datasets")
    return dict(config)


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    with open(path) as fh:
        config = yaml.safe_load(fh) or {}
    return validate_config(config, source=str(path))
