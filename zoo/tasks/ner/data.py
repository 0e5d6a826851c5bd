"""NER data: tagged sentences from specs, vocabularies, long sentences split, bucketed pipelines."""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Sequence

import numpy as np
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.features import FeatureSpec, TokenFeatures, build_char_vocabulary, word_key_strings
from pipelines.ner import ner_dataset, ner_vocabularies, unknown_rates
from pipelines.readers import TaggedSentence, read_tagged
from pipelines.tags import convert
from pipelines.vocab import Vocabulary
from zoo.pretrained import vocabulary_with_vectors
from zoo.registry import get_spec


TASK = "ner"
SCHEMES = ("iob2", "iobes")


@dataclasses.dataclass
class NerData:
    """Everything a tagger is trained from: sentences, vocabularies and tf.data pipelines.

    `train` and `dev` keep their IOB2 tags; the pipelines carry `scheme` tags.
    """

    train: list
    dev: list
    vocab: Vocabulary
    tags: Vocabulary
    chars: Vocabulary | None
    features: FeatureSpec
    scheme: str
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset
    info: dict
    embeddings: np.ndarray | None = None  # pretrained rows for `vocab`, (len(vocab), dim)

    def sizes(self) -> dict:
        """The data-dependent builder arguments."""
        sizes = {"vocab_size": len(self.vocab), "num_tags": len(self.tags)}
        if self.chars is not None:
            sizes["char_vocab_size"] = len(self.chars)
        return sizes


def read_ner_data(train_spec: str, dev_spec: str | None = None, *, dev_fraction: float = 0.1,
                  scheme: str | None = None):
    """Reads `FORMAT:PATH` specs; without a dev file the last `dev_fraction` of train is held out.

    `scheme` is the files' tag scheme when it is not their format's default (see `read_tagged`).
    """
    train = read_tagged(train_spec, scheme=scheme)
    if dev_spec:
        dev = read_tagged(dev_spec, scheme=scheme)
    else:
        cut = max(1, int(len(train) * (1 - dev_fraction)))
        if cut >= len(train):
            raise DataError(train_spec, None, "too few sentences to hold out a dev split; pass --dev")
        train, dev = train[:cut], train[cut:]
    return train, dev, {"train": train_spec, "dev": dev_spec or f"last {dev_fraction:.0%} of train"}


def split_long(sentences: Sequence, max_length: int) -> list:
    """Sentences longer than `max_length` tokens cut into consecutive pieces (training only).

    An entity that crosses a cut is split in two; the second piece starts with `B-`, so
    every piece is valid IOB2.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1. Received: max_length={max_length}")
    pieces = []
    for sentence in sentences:
        for start in range(0, len(sentence.tokens), max_length):
            tags = list(sentence.tags[start:start + max_length])
            if tags[0].startswith("I-"):
                tags[0] = "B-" + tags[0][2:]
            pieces.append(TaggedSentence(tuple(sentence.tokens[start:start + max_length]), tuple(tags)))
    return pieces


def _in_scheme(sentences: Sequence, scheme: str) -> list:
    if scheme == "iob2":
        return list(sentences)
    return [TaggedSentence(s.tokens, tuple(convert(s.tags, "iob2", scheme))) for s in sentences]


def prepare_ner_data(
    train: Sequence,
    dev: Sequence,
    *,
    model: str = "bilstm_ner",
    scheme: str = "iob2",
    batch_size: int = 64,
    seed: int = 0,
    min_count: int = 1,
    max_vocab: int | None = None,
    max_length: int = 250,
    info: dict | None = None,
    word_vectors: str | os.PathLike | None = None,
    vectors_vocab: int = 0,
    singleton_unk: float = 0.0,
    word_dropout: float = 0.0,
) -> NerData:
    """Vocabularies from the training sentences and bucketed pipelines for train and dev.

    Args:
        train, dev: IOB2-tagged sentences.
        model: the registered tagger; its inputs decide the features (characters, word shapes).
        scheme: tags the model learns: "iob2" or "iobes" (outputs are always IOB2).
        max_length: training sentences longer than this are split (see `split_long`).
        word_vectors: a GloVe / word2vec text file whose vectors start the word embedding
            (`embeddings`); its first `vectors_vocab` words join the vocabulary as lookup keys.
        singleton_unk, word_dropout: training batches show each word seen once in `train` as
            `<UNK>` with probability `singleton_unk` (Lample et al. 2016: 0.5), every other
            training word with probability `word_dropout` (see `pipelines.ner.unknown_rates`).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown training tag scheme. Received: scheme={scheme!r}; allowed: {list(SCHEMES)}")
    features = FeatureSpec.for_inputs(get_spec(model).inputs)
    long = sum(len(s.tokens) > max_length for s in train)
    if long:
        print(f"zoo: {long} training sentences longer than {max_length} tokens were split into pieces")
    pieces = _in_scheme(split_long(train, max_length), scheme)
    vocab, tags = ner_vocabularies(pieces, min_count=min_count, max_size=max_vocab, lowercase=features.lowercase)
    embeddings, info = None, dict(info or {})
    if word_vectors:
        vocab, embeddings, info["word_vectors"] = vocabulary_with_vectors(
            vocab, word_vectors, first=vectors_vocab, seed=seed,
            keys=functools.partial(word_key_strings, lowercase=features.lowercase))
    chars = build_char_vocabulary(s.tokens for s in pieces) if features.chars else None
    scheme_dev = _in_scheme(dev, scheme)
    unseen = sorted({t for s in scheme_dev for t in s.tags} - set(tags.tokens))
    if unseen:
        raise DataError((info or {}).get("dev"), None,
                        f"dev data uses tags the training data never does: {unseen}; training tags: {list(tags.tokens)}")
    token_features = TokenFeatures(features, vocab.table(), chars.table() if chars else None)
    unknown = unknown_rates(pieces, vocab, singletons=singleton_unk, others=word_dropout,
                            lowercase=features.lowercase) if singleton_unk or word_dropout else None
    return NerData(
        train=list(train),
        dev=list(dev),
        vocab=vocab,
        tags=tags,
        chars=chars,
        features=features,
        scheme=scheme,
        train_ds=ner_dataset(pieces, vocab, tags, batch_size=batch_size, seed=seed, features=token_features,
                             unknown=unknown),
        dev_ds=ner_dataset(scheme_dev, vocab, tags, batch_size=batch_size, shuffle=False, features=token_features),
        embeddings=embeddings,
        info={**info, "train_sentences": len(train), "dev_sentences": len(dev), "vocab_size": len(vocab),
              "char_vocab_size": len(chars) if chars else None, "num_tags": len(tags), "tag_scheme": scheme,
              "batch_size": batch_size, "max_length": max_length, "singleton_unk": singleton_unk,
              "word_dropout": word_dropout},
    )
