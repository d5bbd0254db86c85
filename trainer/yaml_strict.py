"""Strict YAML loading for user-written configs.

PyYAML's safe loader silently keeps the last of two duplicate keys and reads ``1e-4`` as a
string (YAML 1.1 wants a dot in floats). Both surprise people writing training configs, so this
loader rejects duplicate keys with their line number and resolves exponent floats as numbers.
It is for config files only; dataset files are parsed elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 2**20  # a goal or training config is a page of settings, never data


class ConfigFileError(ValueError):
    """A config file could not be read; the message names the file and, where known, the line."""


_FLOAT_PATTERN = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys and reads 1e-4 as a float."""


_StrictLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_PATTERN, list("-+0123456789."))


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            line = key_node.start_mark.line + 1
            raise ConfigFileError(f"{key_node.start_mark.name}:{line}: duplicate key {key!r}")
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    """An int, or a ConfigFileError naming the line when Python refuses it (over 4300 digits)."""
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        line = node.start_mark.line + 1
        raise ConfigFileError(
            f"{node.start_mark.name}:{line}: the number {node.value[:20]}… has {len(node.value)} digits; "
            "not a usable setting"
        ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read ``path`` as a YAML mapping, rejecting duplicate keys; errors name the file and line."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigFileError(
                f"{path}: {size / 2**20:.1f} MiB is too large for a config file (at most "
                f"{MAX_CONFIG_BYTES // 2**20} MiB); data belongs in a dataset file that the config names"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        loader = _StrictLoader(text)
        loader.name = str(path)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigFileError(f"{where}: invalid YAML: {exc.problem}") from None
    if data is None:
        raise ConfigFileError(f"{path}: the file is empty")
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data
