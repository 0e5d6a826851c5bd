"""Siamese duplicate detection, in four modules: `data` (pairs, vocabulary, triplet batches), `serving`
(the exported graph), `search` (encoding, verification, nearest duplicates, a loaded export) and
`task` (compiling, the training callbacks, τ calibration and the `SiameseTask` hooks).
"""

from zoo.tasks.siamese.data import TASK, PairIndex, SiameseData, default_text_ids, prepare_siamese_data, read_siamese_data
from zoo.tasks.siamese.search import (
    DuplicateIndex,
    SiameseExport,
    embed_texts,
    encode_ids,
    encoder_function,
    verify,
    warn_empty,
)
from zoo.tasks.siamese.serving import SiameseServer, export_siamese, make_server
from zoo.tasks.siamese.task import (
    MONITOR,
    SIGNATURES,
    CollapseWarning,
    DevPairMetrics,
    SiameseTask,
    compile_siamese,
    dev_metrics,
    format_report,
    plot_report_histograms,
    predict_pairs,
    train_siamese,
    tune_siamese,
)

__all__ = [
    "MONITOR", "SIGNATURES", "TASK", "CollapseWarning", "DevPairMetrics", "DuplicateIndex", "PairIndex",
    "SiameseData", "SiameseExport", "SiameseServer", "SiameseTask", "compile_siamese", "default_text_ids",
    "dev_metrics", "embed_texts", "encode_ids", "encoder_function", "export_siamese", "format_report",
    "make_server", "plot_report_histograms", "predict_pairs", "prepare_siamese_data", "read_siamese_data",
    "train_siamese", "tune_siamese", "verify", "warn_empty",
]
