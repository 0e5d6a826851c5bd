"""Versioned, atomic SavedModel export in the layout TF Serving watches: `<base>/<name>/<version>/`."""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import platform
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from zoo.errors import ZooError

MODEL_CARD = "model_card.json"
STAGING_PREFIX = ".tmp-"
# A staging folder untouched this long belongs to no running export, whoever made it.
STALE_AFTER_S = 24 * 3600


# What a folder or disk that cannot take an export answers (other OSErrors are bugs, raised as they are).
_FOLDER_REFUSES = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR, errno.EEXIST}


class ExportError(ZooError):
    """The export folder cannot take the export (not writable, disk full); nothing was published."""


def versions(model_dir: str | os.PathLike) -> list[int]:
    """The integer versions present under `model_dir` (TF Serving ignores other names)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def export_versioned(
    write: Callable[[str], None],
    base_dir: str | os.PathLike,
    name: str,
    *,
    card: dict,
) -> Path:
    """Writes a new version of `name` and returns its path; existing versions are never touched.

    `write(path)` fills a temporary folder beside the versions (its name is not an integer, so
    TF Serving ignores it); the model card and a short README are added, and the folder is then
    renamed to the next free version in one step. An interrupted export leaves at most a
    `.tmp-*` folder behind, never a half-written version, and the next export removes it
    (`clean_stale_staging`).

    Raises:
        ExportError: the folder cannot be written or the disk is full (nothing is published).
    """
    model_dir = Path(base_dir) / name
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        clean_stale_staging(model_dir)
        staging = tempfile.mkdtemp(prefix=_staging_prefix(), dir=model_dir)
    except OSError as error:
        raise _export_error(model_dir, error) from error
    # mkdtemp makes the folder private (0700); a version must be readable by a server that runs
    # as another user, as the TF Serving container does.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        write(staging)
        card = {**card, "name": name, "exported_at": _now(), "versions": software_versions()}
        with open(os.path.join(staging, MODEL_CARD), "w", encoding="utf-8") as f:
            json.dump(card, f, indent=2, sort_keys=True)
        with open(os.path.join(staging, "README.md"), "w", encoding="utf-8") as f:
            f.write(card_readme(card))
        while True:
            version = max(versions(model_dir), default=0) + 1
            target = model_dir / str(version)
            if target.exists():  # someone else took it between the listing and now
                continue
            os.rename(staging, target)
            _update_card_version(target, version)
            return target
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError) and error.errno in _FOLDER_REFUSES:
            raise _export_error(model_dir, error) from error
        raise


def export_serving_module(
    module,
    signatures: Mapping[str, Callable],
    card: dict,
    *,
    base_dir: str | os.PathLike,
    name: str,
    models: Sequence = (),
    warmup: dict | None = None,
) -> Path:
    """Saves a serving `tf.Module` with its signatures as the next version of `base_dir/name`.

    Every task exports through here: the SavedModel is written into the staging folder of
    `export_versioned`, its ops are checked against what TF Serving can run (`check_serving_ops`),
    and `card` (which names the task and describes the signatures) is written beside it.

    Args:
        module: the serving graph (a `tf.Module` holding the trained model(s) and its tables).
        signatures: signature name -> `tf.function` of `module` (one with `serving_default`).
        card: model-card entries.
        base_dir, name: the export is the next version of `base_dir/name`.
        models: Keras models whose recurrent layers are traced with the generic kernels while saving
            (needed where a signature calls the full layers, not only their cells).
        warmup: a `serving_default` request (input name -> value, `Task.example_inputs`) written as
            the export's TF Serving warmup file (`zoo.deploy.warmup`); None writes none.
    """
    import tensorflow as tf

    from zoo.deploy.warmup import write_warmup_requests
    from zoo.serving import check_serving_ops

    def write(path: str) -> None:
        with contextlib.ExitStack() as stack:
            for model in models:
                stack.enter_context(generic_rnn_kernels(model))
            track_signature_variables(module, signatures)
            tf.saved_model.save(module, path, signatures=dict(signatures))
        if warmup is not None:
            write_warmup_requests(path, [("serving_default", warmup)], model_name=name)
        check_serving_ops(path)

    return export_versioned(write, base_dir, name, card=card)


def track_signature_variables(module, signatures: Mapping[str, Callable]) -> None:
    """Tracks on `module` (as `serving_variables`) the `tf.Variable`s that its signatures read.

    Keras 3 wraps each TensorFlow variable in a `keras.Variable`, which the SavedModel's object graph
    does not follow: `tf.saved_model.load` still restores the variables the functions capture, but
    the TF1 loader that TF Serving's C++ `LoadSavedModel` is restores only tracked ones, and every
    request then fails with "Could not find variable ..." (keras-team/keras#19274,
    tensorflow/serving#2250). Tracking the variables themselves, as Keras's own `ExportArchive`
    does, makes the export load in both.
    """
    variables = {}
    for function in signatures.values():
        concrete = function.get_concrete_function() if hasattr(function, "get_concrete_function") else function
        variables.update((id(variable), variable) for variable in concrete.variables)
    module.serving_variables = list(variables.values())


def ensemble_mean(members: Sequence):
    """The elementwise mean of an ensemble's same-shaped outputs in a serving graph (one member: itself,
    so a single model's graph gains no ops). Keras variables are read first: `tf.stack` does not take them."""
    import tensorflow as tf

    members = [tf.convert_to_tensor(member) for member in members]
    return members[0] if len(members) == 1 else tf.reduce_mean(tf.stack(members), axis=0)


@contextlib.contextmanager
def generic_rnn_kernels(model):
    """Traces a Keras model's recurrent layers with the generic kernels: cuDNN-only ops do not run on CPU servers."""
    layers = [layer for layer in model._flatten_layers(include_self=False) if hasattr(layer, "use_cudnn")]
    saved = [layer.use_cudnn for layer in layers]
    for layer in layers:
        layer.use_cudnn = False
    try:
        yield
    finally:
        for layer, value in zip(layers, saved):
            layer.use_cudnn = value


def _update_card_version(target: Path, version: int) -> None:
    path = target / MODEL_CARD
    card = json.loads(path.read_text(encoding="utf-8"))
    card["version"] = version
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def read_card(export_dir: str | os.PathLike) -> dict:
    path = Path(export_dir) / MODEL_CARD
    if not path.exists():
        raise ZooError(f"{export_dir}: not a zoo export (no {MODEL_CARD}); expected a folder like saved_models/NAME/VERSION")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ZooError(f"{path}: not a readable model card ({error}); the export is damaged, export it again") from None


def resolve_export(path: str | os.PathLike) -> Path:
    """An export folder: `path` itself, or its newest version when `path` is a model folder."""
    path = Path(path)
    if not path.exists():
        raise ZooError(f"{path}: no such export; expected saved_models/NAME/VERSION or saved_models/NAME")
    if (path / "saved_model.pb").exists():
        return path
    found = versions(path)
    if not found:
        raise ZooError(f"{path}: holds neither saved_model.pb nor integer version folders")
    return path / str(found[-1])


def software_versions() -> dict:
    import keras
    import tensorflow as tf
    import tensorflow_text as tf_text

    import zoo

    return {
        "zoo": zoo.__version__,
        "tensorflow": tf.__version__,
        "tensorflow_text": tf_text.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def card_readme(card: dict) -> str:
    metrics = "\n".join(f"- {k}: {v}" for k, v in sorted(card.get("metrics", {}).items())) or "- (none recorded)"
    signatures = "\n".join(f"- `{name}`: {text}" for name, text in card.get("signatures", {}).items())
    return (
        f"# {card['name']} ({card.get('task', '')})\n\n"
        f"Exported {card['exported_at']} by zoo {card['versions']['zoo']} "
        f"(TensorFlow {card['versions']['tensorflow']}).\n\n"
        f"## Signatures\n{signatures}\n\n## Metrics\n{metrics}\n\n"
        f"## Data\n{json.dumps(card.get('data', {}), indent=2)}\n\n"
        f"## Config\n```json\n{json.dumps(card.get('config', {}), indent=2)}\n```\n\n"
        "Serve with TensorFlow Serving 2.20, e.g.\n"
        f"`docker run -p 8501:8501 -v $PWD/saved_models/{card['name']}:/models/{card['name']} "
        f"-e MODEL_NAME={card['name']} tensorflow/serving:2.20.0`\n"
    )


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def check_export_dir_writable(path: str | os.PathLike, *, need_bytes: int = 0) -> Path:
    """Makes sure an export can be written under `path` before hours of training; returns it.

    The folder is created if need be and a small file is written and removed in it. `need_bytes`
    is the free space the export needs (e.g. twice the model's weights); 0 skips that check.

    Raises:
        ExportError: naming the folder and why (not a folder, no permission, disk full).
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=STAGING_PREFIX + "write-check-") as probe:
            probe.write(b"zoo")
            probe.flush()
            os.fsync(probe.fileno())
        free = shutil.disk_usage(path).free
    except OSError as error:
        raise _export_error(path, error) from error
    if free < need_bytes:
        raise ExportError(f"{path}: cannot write the export there: {free / 1e6:.1f} MB free, the export needs about "
                          f"{need_bytes / 1e6:.1f} MB; free some space or pass another --export-dir")
    return path


def _export_error(path: Path, error: OSError) -> ExportError:
    reason = error.strerror or str(error)
    hint = "free some space" if error.errno in (errno.ENOSPC, errno.EDQUOT) else "fix its permissions"
    return ExportError(f"{path}: cannot write the export there ({reason}); {hint} or pass another --export-dir")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _staging_prefix() -> str:
    """`.tmp-HOST-PID-`: whose export a staging folder is, so a later export can tell if it still runs."""
    return f"{STAGING_PREFIX}{_host()}-{os.getpid()}-"


def clean_stale_staging(model_dir: str | os.PathLike, *, now: float | None = None) -> list[Path]:
    """Removes the `.tmp-*` folders of exports that no longer run, and returns them.

    A folder is stale when its process (named in it by `_staging_prefix`) is gone from this host, or
    when nothing has touched it for `STALE_AFTER_S` (another host's, or an older zoo's unnamed one).
    A running export's folder is left alone.
    """
    now = time.time() if now is None else now
    model_dir = Path(model_dir)
    removed = []
    for path in sorted(model_dir.glob(STAGING_PREFIX + "*")) if model_dir.is_dir() else []:
        try:
            old = now - path.stat().st_mtime > STALE_AFTER_S
        except FileNotFoundError:  # another export just renamed or removed it
            continue
        if old or _owner_is_gone(path.name):
            try:
                (shutil.rmtree if path.is_dir() else os.remove)(path)
            except OSError:  # not ours to remove, or gone already: the export goes on beside it
                continue
            removed.append(path)
    return removed


def _owner_is_gone(name: str) -> bool:
    """True when `name` is `.tmp-HOST-PID-...` of this host and process PID no longer exists."""
    match = re.fullmatch(re.escape(STAGING_PREFIX + _host()) + r"-(\d+)-.*", name)
    if not match:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False
