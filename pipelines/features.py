"""Token features as TensorFlow ops, shared by training pipelines and exported graphs.

A tagger sees each token through up to three inputs:
- `token_ids`: the word id of `normalize(token)` (lower-cased for models that also see the
  word's characters or shape, since those carry the case);
- `char_ids`: the ids of the word's first `max_word_length` characters (digits as 0);
- `shape_ids`: a casing/word-shape class (see `SHAPES`).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import tensorflow as tf

from pipelines.text import normalize
from pipelines.vocab import Vocabulary, build_vocabulary

# Word-shape classes, checked in order (first match wins); 0 is padding, 1 anything else.
SHAPES = (
    ("numeric", r"[\pN.,:/-]*\pN[\pN.,:/-]*"),
    ("lower", r"\p{Ll}+"),
    ("upper", r"\p{Lu}+"),
    ("title", r"\p{Lu}\p{Ll}+"),
    ("has_digit", r".*\pN.*"),
    ("mixed_case", r".*\p{Lu}.*"),
    ("punctuation", r"[\p{P}\p{S}]+"),
)
NUM_SHAPES = len(SHAPES) + 2


def word_keys(tokens, *, lowercase: bool = False):
    """The strings the word vocabulary is keyed by: `normalize`, then optionally lower-case."""
    keys = normalize(tokens)
    if not lowercase:
        return keys
    if isinstance(keys, tf.RaggedTensor):
        return keys.with_flat_values(tf.strings.lower(keys.flat_values, encoding="utf-8"))
    return tf.strings.lower(keys, encoding="utf-8")


def word_key_strings(tokens: Sequence[str], *, lowercase: bool = False) -> list[str]:
    """`word_keys` for Python strings, through the very same ops."""
    if not tokens:
        return []
    keys = word_keys(tf.constant(list(tokens), dtype=tf.string), lowercase=lowercase)
    return [k.decode("utf-8") for k in keys.numpy()]


def word_shapes(tokens: tf.Tensor) -> tf.Tensor:
    """int32 shape class of each token of a dense string tensor."""
    shape = tf.ones_like(tokens, dtype=tf.int32)
    for index, (_, pattern) in reversed(list(enumerate(SHAPES, start=2))):
        shape = tf.where(tf.strings.regex_full_match(tokens, pattern), index, shape)
    return shape


def token_chars(tokens, max_word_length: int):
    """Characters of each token (digits as 0), cut to `max_word_length`: one more ragged dimension."""
    return tf.strings.unicode_split(normalize(tokens), "UTF-8")[..., :max_word_length]


def build_char_vocabulary(token_lists, *, min_count: int = 1) -> Vocabulary:
    """`<PAD>`, `<UNK>`, then characters (digits as 0) seen at least `min_count` times."""
    words = word_key_strings([token for tokens in token_lists for token in tokens])
    return build_vocabulary((list(word) for word in words), min_count=min_count)


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """Which inputs a tagger reads; derived from the model's input names and serializable."""

    chars: bool = False
    shapes: bool = False
    max_word_length: int = 20

    @property
    def lowercase(self) -> bool:
        return self.chars or self.shapes

    @classmethod
    def for_inputs(cls, inputs: Sequence[str], **kwargs) -> "FeatureSpec":
        unknown = set(inputs) - {"token_ids", "char_ids", "shape_ids"}
        if unknown or "token_ids" not in inputs:
            raise ValueError(f"A tagger reads token_ids and optionally char_ids, shape_ids. Received: inputs={list(inputs)}")
        return cls(chars="char_ids" in inputs, shapes="shape_ids" in inputs, **kwargs)


class TokenFeatures(tf.Module):
    """Maps a (batch, None) ragged string tensor of tokens to the model's ragged int inputs.

    A `tf.Module`, so its lookup tables are saved with any exported module that holds it.
    """

    def __init__(self, spec: FeatureSpec, words, chars=None):
        super().__init__(name="token_features")
        if spec.chars and chars is None:
            raise ValueError("This feature spec reads characters: pass a character lookup table.")
        self.spec = spec
        self.words = words
        self.chars = chars

    def __call__(self, tokens: tf.RaggedTensor) -> dict:
        keys = word_keys(tokens, lowercase=self.spec.lowercase)
        features = {"token_ids": tf.ragged.map_flat_values(_lookup, self.words, keys)}
        if self.spec.chars:
            chars = token_chars(tokens, self.spec.max_word_length)
            features["char_ids"] = tf.ragged.map_flat_values(_lookup, self.chars, chars)
        if self.spec.shapes:
            features["shape_ids"] = tf.ragged.map_flat_values(word_shapes, tokens)
        return features


def _lookup(table, keys):
    # Tables take dense or 2-D ragged keys; flat values make (batch, words, chars) work too.
    return tf.cast(table.lookup(keys), tf.int32)
