"""Subword vocabularies: a SentencePiece model trained in Python, applied in the graph by tensorflow-text.

Training uses the `sentencepiece` package; tokenizing and detokenizing use tensorflow-text's
`SentencepieceTokenizer`, an op TF Serving's ModelServer links, built from the same model bytes. So the
ids a model is trained on are the ids its exported graph computes.

The special ids are fixed for every model this module trains, and match the word-level vocabularies
of `pipelines.language_model.lm_vocabulary`: `<PAD>`=0, `<UNK>`=1, `<BOS>`=2, `<EOS>`=3. Unknown
characters decode as " ⁇ "; `<PAD>`, `<BOS>` and `<EOS>` (SentencePiece control symbols) decode as nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import Iterable

import tensorflow as tf
import tensorflow_text as tf_text

from pipelines.errors import DataError

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
MODEL_TYPES = ("unigram", "bpe")


def train_sentencepiece(texts: Iterable[str], *, vocab_size: int = 8000, model_type: str = "unigram",
                        character_coverage: float = 1.0) -> bytes:
    """The serialized SentencePiece model trained on `texts`, with the fixed special ids.

    Args:
        texts: training sentences (both languages for a joint vocabulary).
        vocab_size: pieces in the vocabulary, the 4 specials included. Small corpora may yield fewer
            pieces (the limit is soft) rather than failing.
        model_type: "unigram" (Kudo, 2018) or "bpe" (Sennrich et al., 2016).
        character_coverage: share of characters the vocabulary covers; the rest map to `<UNK>`.

    Raises:
        ValueError: an unknown `model_type` or a `vocab_size` below 5.
        DataError: `texts` holds no text.
    """
    import sentencepiece

    if model_type not in MODEL_TYPES:
        raise ValueError(f"Unknown SentencePiece model type. Received: model_type={model_type!r}; allowed: {MODEL_TYPES}")
    if vocab_size < 5:
        raise ValueError(f"vocab_size must leave room for the 4 special ids and a piece. Received: vocab_size={vocab_size}")
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise DataError(None, None, "expected texts to train a SentencePiece model on, got none")
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size, model_type=model_type,
        character_coverage=character_coverage, hard_vocab_limit=False,
        pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID,
        pad_piece="<PAD>", unk_piece="<UNK>", bos_piece="<BOS>", eos_piece="<EOS>",
        # One thread: the same texts always give the same model.
        num_threads=1, minloglevel=2)
    return model.getvalue()


class SentencePieceEncoder(tf.Module):
    """Strings <-> int32 subword ids in the graph, from a serialized SentencePiece model.

    Args:
        model: the bytes `train_sentencepiece` returns (or a `.model` file's content).

    Example:
        >>> encoder = SentencePieceEncoder(train_sentencepiece(texts, vocab_size=8000))
        >>> encoder.tokenize(tf.constant(["A dog runs ."]))  # ragged (batch, None) int32
    """

    def __init__(self, model: bytes, *, name: str = "sentencepiece"):
        super().__init__(name=name)
        self.model = bytes(model)
        # The op's resource is named after its node. Reloaded from a SavedModel, two tokenizers with the default
        # name are one resource (whichever model loads first serves both), so the name carries the model's digest.
        digest = hashlib.sha1(self.model).hexdigest()[:16]
        self._tokenizer = tf_text.SentencepieceTokenizer(model=self.model, out_type=tf.int32,
                                                         name=f"sentencepiece_{digest}")
        self.vocab_size = int(self._tokenizer.vocab_size())

    def tokenize(self, texts) -> tf.RaggedTensor:
        """A 1-D string batch -> (batch, None) int32 ids, without `<BOS>` or `<EOS>`."""
        return self._tokenizer.tokenize(tf.convert_to_tensor(texts, dtype=tf.string))

    def detokenize(self, ids) -> tf.Tensor:
        """(batch, None) ids, ragged or dense -> 1-D strings; padding and control ids decode as nothing."""
        return self._tokenizer.detokenize(ids)

    def id_to_piece(self, ids):
        """The pieces of ids, e.g. "▁Hund" ("▁" marks the start of a word), same shape as `ids`."""
        return self._tokenizer.id_to_string(ids)

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "wb") as f:
            f.write(self.model)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SentencePieceEncoder":
        with open(path, "rb") as f:
            return cls(f.read())
