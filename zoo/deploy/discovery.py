"""The exports under a base folder, in the layout TF Serving watches: `BASE/NAME/VERSION/saved_model.pb`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import ZooError
from zoo.export import read_card, versions


@dataclass(frozen=True)
class ModelExports:
    """One model folder: its name (the folder's), absolute path, integer versions and model cards."""

    name: str
    path: Path
    versions: list[int]
    cards: dict[int, dict] = field(default_factory=dict)


def find_models(base: str | os.PathLike) -> list[ModelExports]:
    """Every model folder under `base`, sorted by name.

    Raises `ZooError` when `base` holds no model folder, when a model folder has no integer
    version, or when a version lacks `saved_model.pb` (the ModelServer would fail to load it).
    Folders whose names start with "." are skipped. A version without a zoo model card is
    still served; its card is then `{}`.
    """
    base = Path(base)
    if not base.is_dir():
        raise ZooError(f"{base}: no such folder; expected an export base such as saved_models/ "
                       "holding NAME/VERSION/saved_model.pb")
    if (base / "saved_model.pb").exists() or versions(base):
        above = base.resolve().parent.parent if (base / "saved_model.pb").exists() else base.resolve().parent
        raise ZooError(f"{base}: an export or a model folder, not an export base; pass {above}, "
                       "the folder that holds NAME/VERSION/")
    folders = [f for f in sorted(base.iterdir()) if f.is_dir() and not f.name.startswith(".")]
    models = [_model(folder) for folder in folders]
    if not models:
        raise ZooError(f"{base}: no exports found; expected NAME/VERSION/saved_model.pb folders "
                       "(write them with zoo train or zoo ngram fit)")
    return models


def _model(folder: Path) -> ModelExports:
    found = versions(folder)
    if not found:
        raise ZooError(f"{folder}: a model folder without integer version folders; TF Serving loads only "
                       f"NAME/1, NAME/2, ... (found: {sorted(p.name for p in folder.iterdir())[:5]})")
    for version in found:
        if not (folder / str(version) / "saved_model.pb").exists():
            raise ZooError(f"{folder / str(version)}: version folder without saved_model.pb")
    return ModelExports(folder.name, folder.resolve(), found, {v: _card(folder / str(v)) for v in found})


def _card(export: Path) -> dict:
    try:
        return read_card(export)
    except ZooError:  # an export made elsewhere: served all the same
        return {}
