"""Argument types for `zoo`'s parser: argparse reports their errors as `zoo CMD: error: argument X: ...`, exit 2.

Kept apart from `zoo.cli` so that they import nothing heavy and are tested on their own.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

from zoo.errors import ZooError


def positive_int(text: str) -> int:
    """An integer >= 1 (epochs, batch sizes, trials): `--epochs 0` would train nothing."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def probability(text: str) -> float:
    """A number in [0, 1] (`--singleton-unk`, `--word-dropout`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {value}")
    return value


def utf8_text(text: str) -> str:
    """A command-line text that was valid UTF-8.

    Python decodes arguments with `surrogateescape`, so bytes that are not UTF-8 (`$'\\xff\\xfe'`)
    arrive as lone surrogates that fail later, deep in TensorFlow; they are refused here instead.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raw = text[error.start : error.end].encode("utf-8", "surrogateescape")
        raise argparse.ArgumentTypeError(
            f"expected UTF-8 text, got the bytes {raw!r} at character {error.start + 1} of {_cut(text)!r}") from None
    return text


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose usage errors are one line, `zoo: error: ...`, exit 2, like every other user error."""

    def error(self, message: str):
        command = self.prog.partition(" ")[2]
        self.exit(2, f"zoo: error: {message} (see `zoo{' ' + command if command else ''} --help`)\n")


def config_overrides(pairs: list[str] | None) -> dict:
    """`--set KEY=VALUE` pairs as a config dict; a VALUE that is JSON is parsed (`8`, `[3, 5]`, `true`)."""
    config = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ZooError(f"--set expects KEY=VALUE. Received: {pair!r}")
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    return config


def workdir_of(workdir: str | None, name: str) -> Path:
    """`--workdir`, or a new `runs/NAME-YYYYmmdd-HHMMSS`."""
    if workdir:
        return Path(workdir)
    return Path("runs") / f"{name}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
