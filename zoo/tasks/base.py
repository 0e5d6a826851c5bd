"""The task protocol: one `Task` class per task family.

A task says what differs (how data becomes batches, how a model is compiled, which serving graph
is exported, how it is scored); `zoo.tasks.loops` holds the one train / tune / export / evaluate
loop that calls these hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Sequence

from zoo.errors import ZooError

# The hooks every task must define; `missing_hooks` names those a task left to the base class.
REQUIRED_HOOKS = ("read_data", "sizes", "compile", "serving_module", "serving_signatures", "card", "score",
                  "read_labelled", "score_export", "format_report", "predict", "format_predictions",
                  "example_inputs")


class Task:
    """A task family: the hooks the shared loops call. Subclasses set the class attributes and the hooks.

    Attributes:
        name: the task name that registered models declare (`ModelSpec.task`) and model cards record.
        noun: the task's models in errors, e.g. "an NER tagger".
        monitor, mode: the dev metric that selects the best epoch and trial ("max" or "min").
        signatures: signature name -> description, written into the model card.
        options: keyword options of `train` beyond the shared ones, with their defaults.
        ensembles: whether `train(members=N)` may train N models and export them together.
        word_vectors: whether the task's data can start the embedding from pretrained vectors.
        refits: whether the task's `read_data` takes `with_dev` (`zoo train --refit`) and nothing in its
            export is chosen on dev once dev is trained on (what was, such as a threshold calibrated on
            dev, the refit takes from the first export: `refit_options`).
        set_options: `--set` keys that `read_data` takes itself (data and training options), not model config.
        picture: the PNG that `evaluate_export` draws into the report folder, if any.
        train_pictures: the PNGs training leaves in the workdir (the command line lists them).
        tuned_pictures: what `zoo tune` says about the best model's pictures ("{workdir}" is filled in).
    """

    name: ClassVar[str] = ""
    noun: ClassVar[str] = ""
    monitor: ClassVar[str] = "val_loss"
    mode: ClassVar[str] = "min"
    signatures: ClassVar[dict] = {}
    options: ClassVar[dict] = {}
    ensembles: ClassVar[bool] = False
    word_vectors: ClassVar[bool] = False
    refits: ClassVar[bool] = False
    set_options: ClassVar[tuple[str, ...]] = ()
    picture: ClassVar[str | None] = None
    train_pictures: ClassVar[tuple[str, ...]] = ("training_curves",)
    tuned_pictures: ClassVar[str | None] = None

    # -- data

    def read_data(self, args, config: dict) -> tuple[Any, dict, dict]:
        """Reads and prepares the data that `zoo train` / `zoo tune` arguments name.

        Returns:
            (prepared data, the model config, task options that came with the config).
        """
        raise NotImplementedError

    # -- training

    def read_data_with_dev(self, args, config: dict) -> tuple[Any, dict, dict]:
        """`read_data` with the dev data added to the training data, vocabularies included (tasks with
        `refits`, whose `read_data` takes `with_dev=True` for it); dev stays dev, so the pipelines and
        hooks work unchanged, though its figures are no longer held out."""
        return self.read_data(args, config, with_dev=True)

    def refit_options(self, card: dict) -> dict:
        """Task options that a refit takes from the first export's `card` instead of choosing them on dev."""
        return {}

    def sizes(self, data) -> dict:
        """The data-dependent builder arguments (vocabulary size, classes, ...)."""
        raise NotImplementedError

    def build(self, name: str, data, *, preset: str | None, config: dict, freeze_embeddings: bool = False, **options):
        """(An uncompiled model, the full builder config the model card records): the registered builder
        with `config` and the data's `sizes`. A bad value is a `ConfigError` (one line on the command line).

        With pretrained rows in `data.embeddings` (tasks with `word_vectors`), the token embedding
        starts from them (`embedding_dim` becomes theirs, or a larger one asked for adds learned
        dimensions; fixed with `freeze_embeddings`).
        """
        from zoo.pretrained import build_with_vectors
        from zoo.registry import get_spec

        sizes = self.sizes(data)
        model, config = build_with_vectors(name, embeddings=getattr(data, "embeddings", None), freeze=freeze_embeddings,
                                           preset=preset, config=config, **sizes)
        return model, get_spec(name).config(preset, **config, **sizes)

    def compile(self, model, *, learning_rate, data=None, epochs: int | None = None, **options):
        """Compiles `model`; `epochs` is None inside a tuner trial (no schedule that depends on it)."""
        raise NotImplementedError

    def callbacks(self, data, workdir, model=None, **options) -> list:
        """Callbacks that add the dev metric to the logs (e.g. dev F1), run before the shared ones.

        `model` is the compiled model being trained, or None for the trials of a search.
        """
        return []

    def check_options(self, data, *, tuning: bool = False, **options) -> None:
        """Raises `ZooError` for options that cannot work (checked before any training)."""

    def check_trained(self, model, **options) -> None:
        """Raises `ZooError` when a trained model must not be exported (e.g. NaN weights)."""

    def training_card(self, models: Sequence, runs: list[dict], **options) -> dict:
        """Task entries of the model card's `training` section."""
        return {}

    def tuning_card(self, result, **options) -> dict:
        """Task entries of a tuned export's model card."""
        return {}

    # -- export

    def serving_module(self, models: Sequence, data, workdir):
        """The `tf.Module` to export for trained `models` (one, or an ensemble's members)."""
        raise NotImplementedError

    def serving_signatures(self, module) -> dict:
        """Signature name -> the module's `tf.function`, as `signatures` describes them."""
        raise NotImplementedError

    def traced_models(self, module) -> Sequence:
        """Models whose recurrent layers must be traced with the generic kernels when saving."""
        return ()

    def card(self, module) -> dict:
        """Model-card entries that describe the serving graph (classes, vocabulary size, ...)."""
        raise NotImplementedError

    def score(self, module, data, *, name: str, workdir, seed: int = 0, **options) -> tuple[dict, dict]:
        """Scores the serving graph on dev (and draws its pictures into `workdir`):
        (report, model-card entries such as `metrics`)."""
        raise NotImplementedError

    def example_inputs(self) -> dict:
        """A small request for `serving_default`: input name -> list of values (warm-up, documentation)."""
        raise NotImplementedError

    # -- evaluation and prediction

    def read_labelled(self, data_spec: str, card: dict, **options):
        """Labelled data from a spec, checked against the export's card (e.g. its tags or classes)."""
        raise NotImplementedError

    def score_export(self, loaded, card: dict, data) -> dict:
        """The report of a loaded export on labelled data."""
        raise NotImplementedError

    def draw(self, report: dict, data, path: Path, *, title: str) -> None:
        """Draws `picture` for an evaluation report: by default the confusion matrix of a classifier's report."""
        import numpy as np

        from zoo.plots import plot_confusion_matrix

        confusion = report["confusion"]
        plot_confusion_matrix(np.array(confusion["matrix"]), confusion["labels"], path, title=title)

    def format_report(self, report: dict) -> str:
        raise NotImplementedError

    def format_result(self, report: dict) -> str:
        """The dev report after training or tuning."""
        return self.format_report(report)

    def training_note(self, data, workdir) -> str:
        """Said after `zoo train` trains: the pretrained vectors' coverage, where the pictures and logs are."""
        workdir = Path(workdir)
        pictures = self.train_pictures
        shown = (f"training curves: {workdir / 'training_curves.png'}" if len(pictures) == 1
                 else f"pictures: {workdir}/{{{','.join(pictures)}}}.png")
        lines = [f"{shown}; TensorBoard: tensorboard --logdir {workdir / 'logs'}"]
        if "word_vectors" in data.info:
            vectors = data.info["word_vectors"]
            lines.insert(0, f"word vectors: {vectors['covered']:,} of {vectors['vocab_size'] - 2:,} vocabulary words "
                            f"({vectors['coverage']:.1%}) from {vectors['path']}")
        return "\n".join(lines)

    def export_note(self, report: dict) -> str:
        """Said after the export path on the command line."""
        return ""

    def predict(self, export, inputs: Sequence[str], **options) -> list:
        """JSON-ready results of an export on raw inputs from the command line."""
        raise NotImplementedError

    def format_predictions(self, inputs: Sequence[str], results: list, *, as_json: bool = False) -> str:
        """`predict`'s results as `zoo predict` prints them: a table, or JSON."""
        raise NotImplementedError

    # -- checks

    def check_model(self, name: str):
        """The spec of registered model `name`; `ZooError` unless it is one of this task's models."""
        from zoo.registry import get_spec

        spec = get_spec(name)
        if spec.task != self.name:
            raise ZooError(f"{name!r} is a {spec.task!r} model, not {self.noun}")
        return spec


def missing_hooks(task: Task) -> list[str]:
    """The required hooks `task` does not define itself."""
    return [hook for hook in REQUIRED_HOOKS if getattr(type(task), hook) is getattr(Task, hook)]


def get_task(task: str | Task) -> Task:
    from zoo.tasks import get_task as lookup

    return task if isinstance(task, Task) else lookup(task)
