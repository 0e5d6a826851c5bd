"""Named-entity recognition, in three modules: `data` (sentences, vocabularies, pipelines), `serving` (the
exported `Tagger` graph: strings in, tags and entity spans out, with the training pipeline's own ops) and
`task` (compiling, dev F1, seqeval reports and the `NerTask` hooks).
"""

from zoo.tasks.ner.data import SCHEMES, TASK, NerData, prepare_ner_data, read_ner_data, split_long
from zoo.tasks.ner.serving import Tagger, crf_layer, export_tagger, iob2_name, make_tagger, tag_token_lists
from zoo.tasks.ner.task import (
    MONITOR,
    SIGNATURES,
    DevF1,
    NerTask,
    compile_tagger,
    format_report,
    headline,
    ner_report,
    predict_texts,
    train_ner,
    tune_ner,
)

__all__ = [
    "MONITOR", "SCHEMES", "SIGNATURES", "TASK", "DevF1", "NerData", "NerTask", "Tagger", "compile_tagger",
    "crf_layer", "export_tagger", "format_report", "headline", "iob2_name", "make_tagger", "ner_report",
    "predict_texts", "prepare_ner_data", "read_ner_data", "split_long", "tag_token_lists", "train_ner", "tune_ner",
]
