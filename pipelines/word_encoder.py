"""Word-level strings <-> ids in the graph, the alternative to `pipelines.subwords.SentencePieceEncoder`.

Words are split by `pipelines.text.tokenize` and looked up in a vocabulary whose first four entries
are `<PAD>`, `<UNK>`, `<BOS>`, `<EOS>` (ids 0-3, as for SentencePiece models). Decoding joins words with
single spaces, so punctuation comes back split off ("runs ." for "runs.").
"""

from __future__ import annotations

import os
from typing import Iterable

import tensorflow as tf

from pipelines.language_model import lm_vocabulary, text_tokens
from pipelines.subwords import EOS_ID, UNK_ID
from pipelines.text import lowercase as lowercase_tokens
from pipelines.text import tokenize
from pipelines.vocab import Vocabulary


class WordEncoder(tf.Module):
    """Strings <-> int32 word ids; unknown words map to `<UNK>` (id 1).

    Args:
        vocab: `<PAD>`, `<UNK>`, `<BOS>`, `<EOS>`, then the words (see `WordEncoder.fit`).
        lowercase: lower-case words before the lookup (the vocabulary must be lower-case too).
    """

    def __init__(self, vocab: Vocabulary, *, lowercase: bool = False, name: str = "words"):
        super().__init__(name=name)
        self.vocab = vocab
        self.lowercase = bool(lowercase)
        self.vocab_size = len(vocab)
        self._table = vocab.table()
        self._words = tf.constant(vocab.tokens, dtype=tf.string)

    @classmethod
    def fit(cls, texts: Iterable[str], *, vocab_size: int | None = None, min_count: int = 1,
            lowercase: bool = False) -> "WordEncoder":
        """The encoder of the words of `texts`, most frequent first, at most `vocab_size` entries in all."""
        tokens = text_tokens(list(texts), "word")
        if lowercase:
            tokens = [[t.lower() for t in row] for row in tokens]
        return cls(lm_vocabulary(tokens, min_count=min_count, max_size=vocab_size), lowercase=lowercase)

    def tokenize(self, texts) -> tf.RaggedTensor:
        """A 1-D string batch -> (batch, None) int32 ids, without `<BOS>` or `<EOS>`."""
        words = tokenize(texts)
        if self.lowercase:
            words = lowercase_tokens(words)
        return tf.cast(tf.ragged.map_flat_values(self._table.lookup, words), tf.int32)

    def detokenize(self, ids) -> tf.Tensor:
        """(batch, None) ids, ragged or dense -> 1-D strings of space-joined words; specials but `<UNK>` dropped."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids))
        ids = tf.cast(ids, tf.int32)
        kept = tf.ragged.boolean_mask(ids, (ids > EOS_ID) | (ids == UNK_ID))
        return tf.strings.reduce_join(tf.gather(self._words, kept), axis=-1, separator=" ")

    def id_to_piece(self, ids):
        """The words of ids, same shape as `ids`."""
        return tf.gather(self._words, ids)

    def save(self, path: str | os.PathLike) -> None:
        """The vocabulary, one word per line; `lowercase` is the caller's to keep (e.g. in a model card)."""
        self.vocab.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike, *, lowercase: bool = False) -> "WordEncoder":
        return cls(Vocabulary.load(path), lowercase=lowercase)
