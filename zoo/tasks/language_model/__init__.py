"""Language modelling, in three modules: `data` (a text file cut into windows or sentences), `serving` (the
exported graph that scores texts and generates step by step) and `task` (compiling with gradient
clipping, export with a sample, and the `LanguageModelTask` hooks).
"""

from zoo.tasks.language_model.data import (
    DATA_OPTIONS,
    MODES,
    LanguageModelData,
    prepare_lm_data,
    read_corpus,
    read_lm_data,
    split_corpus,
)
from zoo.tasks.language_model.serving import LanguageModelGraph, sample_text
from zoo.tasks.language_model.task import (
    CLIPPING,
    MONITOR,
    SIGNATURES,
    TRAINING_OPTIONS,
    LanguageModelTask,
    check_clipping,
    check_finite,
    compile_language_model,
    export_language_model,
    export_trained,
    format_report,
    generate_texts,
    split_options,
    train_language_model,
    tune_language_model,
    validation_metrics,
)

__all__ = [
    "CLIPPING", "DATA_OPTIONS", "MODES", "MONITOR", "SIGNATURES", "TRAINING_OPTIONS", "LanguageModelData",
    "LanguageModelGraph", "LanguageModelTask", "check_clipping", "check_finite", "compile_language_model",
    "export_language_model", "export_trained", "format_report", "generate_texts", "prepare_lm_data",
    "read_corpus", "read_lm_data", "sample_text", "split_corpus", "split_options", "train_language_model",
    "tune_language_model", "validation_metrics",
]
