"""Checks a model config against its builder's defaults: known keys, value types and ranges.

A config comes from `--set KEY=VALUE` (JSON values, else strings), presets and data sizes. The
type of each key is inferred from its default (a builder's keyword default), so a new model gets
the checks without declaring anything:

- a bool default takes true/false; an int default an integer; a float default a number; each of
  these also a non-empty list of them (one per layer or block, as `kernel_size=[3, 5]`);
- a str default anything (choices such as `padding="same"`, `2` or `[2, "valid"]` are the builder's to check);
- a list/tuple default a list whose items are of its items' type (or one string, for lists of strings);
- a None default anything.

Ranges: integers (sizes, counts, widths) are at least 1 where the default is, else at least 0;
keys ending in `dropout` are fractions in [0, 1).
"""

from __future__ import annotations

import difflib
from typing import Any, Mapping

from zoo.errors import ConfigError

_NAMES = {bool: "true or false", int: "an integer", float: "a number"}
_PLURALS = {bool: "true/false values", int: "integers", float: "numbers", str: "strings"}


def check_keys(model: str, config: Mapping[str, Any], allowed: set[str]) -> None:
    """Raises `ConfigError` naming a key of `config` outside `allowed`, with the closest allowed key."""
    for key in sorted(set(config) - allowed):
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown config key {key!r} for {model!r}{hint} allowed keys: {sorted(allowed)}")


def check_preset(model: str, preset: str, presets: Mapping[str, dict]) -> None:
    """Raises `ConfigError` for a preset the model does not have, listing the ones it has."""
    if preset not in presets:
        raise ConfigError(f"unknown preset {preset!r} for {model!r}; presets: {sorted(presets) or 'none'}")


def check_values(model: str, config: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """Raises `ConfigError` naming the first key whose value has the wrong type or is out of range."""
    for key, value in config.items():
        if key not in defaults or defaults[key] is None:
            continue
        problem = _type_problem(value, defaults[key]) or _range_problem(key, value, defaults[key])
        if problem:
            raise ConfigError(f"bad config value for {model!r}: {key}={value!r}; expected {problem}")


def _kind(value: Any) -> type | None:
    """bool, int, float, str, list (tuples too) or None for anything else."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind
    return list if isinstance(value, (list, tuple)) else None


def _fits(value: Any, kind: type) -> bool:
    if kind is float:
        return _kind(value) in (int, float)
    return _kind(value) is kind


def _type_problem(value: Any, default: Any) -> str | None:
    """What `value` should be, if it is not of the type `default` implies; else None."""
    kind = _kind(default)
    if kind is list:
        item = _kind(default[0]) if default else None
        if item is None:
            return None if _fits(value, list) else "a list"
        if item is str and _fits(value, str):
            return None
        ok = _fits(value, list) and all(_fits(v, item) for v in value)
        return None if ok else f"a list of {_PLURALS[item]}, e.g. {list(default)}"
    if kind in _NAMES:  # a number or flag: one for all, or one per layer/block (the builder checks the count)
        ok = _fits(value, kind) or (_fits(value, list) and bool(value) and all(_fits(v, kind) for v in value))
        return None if ok else f"{_NAMES[kind]} or a list of {_PLURALS[kind]}"
    return None


def _range_problem(key: str, value: Any, default: Any) -> str | None:
    """What range `value` should be in, if it is outside the one its key and default imply; else None."""
    numbers = list(value) if _fits(value, list) else [value]
    if key.endswith("dropout") and any(_fits(v, float) and not 0 <= v < 1 for v in numbers):
        return "fractions from 0 (included) to 1 (excluded)" if _fits(value, list) else \
            "a fraction from 0 (included) to 1 (excluded)"
    defaults = list(default) if _fits(default, list) else [default]
    if all(_fits(d, int) for d in defaults) and defaults:
        low = 1 if min(defaults) >= 1 else 0
        if any(_fits(v, int) and v < low for v in numbers):
            return f"{'integers' if _fits(value, list) else 'an integer'} >= {low}"
    return None
