"""Text ops shared by training pipelines and exported graphs, so both see tokens the same way.

Everything here is TensorFlow core, safe to trace into a SavedModel that
TF Serving loads (no py_function).
"""

from __future__ import annotations

import tensorflow as tf

# Punctuation and symbols at the edges of a word become tokens of their own, and English
# clitics split off, as in the CoNLL-2003 and GMB tokenization ("Friday." -> "Friday", ".";
# "Sharon's" -> "Sharon", "'s"). Unicode classes keep "José" or "Zürich" whole.
_PUNCT = r"[\p{P}\p{S}]+"
_TRAILING = (rf"({_PUNCT})(\s|$)", r" \1\2")
_LEADING = (rf"(^|\s)({_PUNCT})", r"\1\2 ")
_CLITICS = (r"([\pL\pN])('s|'S|n't|N'T|'re|'ve|'ll|'d|'m)(\s|$)", r"\1 \2\3")

# Unicode White_Space in RE2 (whose \s alone is ASCII and has no \v): the characters a text is split at.
SPACES = r"\s\pZ\x{0B}\x{85}"


def tokenize(sentences: tf.Tensor) -> tf.RaggedTensor:
    """Splits a 1-D batch of raw sentences into a (batch, None) ragged tensor of tokens."""
    sentences = tf.convert_to_tensor(sentences, dtype=tf.string)
    # Every Unicode space becomes " ", so that splitting at ASCII whitespace (one op; tensorflow-text's
    # WhitespaceTokenizer ran ~200 and cut multi-byte spaces such as U+0085 in half) splits at all of them.
    sentences = tf.strings.regex_replace(sentences, rf"[{SPACES}]+", " ")
    # Clitics go last so the leading-punctuation rule does not split "'s" itself.
    for pattern, rewrite in (_TRAILING, _LEADING, _CLITICS):
        sentences = tf.strings.regex_replace(sentences, pattern, rewrite)
    return tf.strings.split(sentences)


def normalize(tokens):
    """Token normalisation applied before every vocabulary lookup: digits become 0.

    Works on dense or ragged string tensors. Case is kept because it carries entity signal.
    """
    if isinstance(tokens, tf.RaggedTensor):
        return tokens.with_flat_values(normalize(tokens.flat_values))
    return tf.strings.regex_replace(tokens, r"\d", "0")


def lowercase(tokens):
    """Unicode-aware lower-casing of dense or ragged string tensors ("Zürich" -> "zürich").

    For tasks where case carries no signal (question matching); NER keeps case and does not call it.
    """
    if isinstance(tokens, tf.RaggedTensor):
        return tokens.with_flat_values(lowercase(tokens.flat_values))
    return tf.strings.lower(tokens, encoding="utf-8")
