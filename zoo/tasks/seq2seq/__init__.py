"""Translation and captioning, in three modules: `data` (pairs or captioned images, encoders, batches),
`serving` (running the exported `zoo.seq2seq_server.Seq2SeqServer` on many inputs) and `task` (the
`TranslationTask` hooks and the `CaptioningTask` that overrides what differs).
"""

from zoo.tasks.seq2seq.data import Seq2SeqData, prepare_caption_data, prepare_translation_data
from zoo.tasks.seq2seq.serving import decode_all, read_images
from zoo.tasks.seq2seq.task import CaptioningTask, TranslationTask, compile_seq2seq

__all__ = ["CaptioningTask", "Seq2SeqData", "TranslationTask", "compile_seq2seq", "decode_all",
           "prepare_caption_data", "prepare_translation_data", "read_images"]
