"""Language-model data: a text from a `text:PATH` spec, held out by characters, cut into windows or sentences."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from pipelines.errors import DataError
from pipelines.ngram import split_text
from pipelines.language_model import (
    check_level,
    encode,
    lm_vocabulary,
    read_text,
    sentence_dataset,
    text_tokens,
    window_dataset,
)
from pipelines.readers.spec import parse_spec
from pipelines.vocab import Vocabulary


MODES = ("windows", "sentences")
# Keys of `zoo train ... --set KEY=VALUE` that shape the data or the training, not the model.
DATA_OPTIONS = {"level": "char", "mode": "windows", "window": 100}


@dataclasses.dataclass
class LanguageModelData:
    """What a language model trains from: the vocabulary, how text was cut, and tf.data pipelines."""

    vocab: Vocabulary
    level: str
    mode: str
    window: int
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset
    info: dict


def read_corpus(spec: str) -> str:
    """The text named by a `text:PATH` data spec (plain or gzipped UTF-8)."""
    return read_text(parse_spec(spec, ("text",), noun="a language-model data spec", format_noun=None)[2])


def split_corpus(text: str, *, held_out: float = 0.1) -> tuple[str, str]:
    """The first `1 - held_out` of the characters and the rest (the usual char-LM split)."""
    if not 0 < held_out < 1:
        raise ValueError(f"held_out must be in (0, 1). Received: held_out={held_out}")
    train, val = split_text(text, 1 - held_out)
    if min(len(train), len(val)) < 2:
        raise DataError(None, None, f"a text of {len(text)} characters is too short to hold out {held_out:.0%}")
    return train, val


def read_lm_data(train_spec: str, dev_spec: str | None = None, *, held_out: float = 0.1) -> tuple[str, str, dict]:
    """(train text, validation text, info) from `text:PATH` specs; without a dev file the last
    `held_out` of the training text's characters are held out."""
    text = read_corpus(train_spec)
    if dev_spec:
        return text, read_corpus(dev_spec), {"train": train_spec, "dev": dev_spec}
    train, val = split_corpus(text, held_out=held_out)
    return train, val, {"train": train_spec, "dev": f"last {held_out:.0%} of the characters of train"}


def nonempty_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def prepare_lm_data(
    train_text: str,
    val_text: str,
    *,
    level: str = "char",
    mode: str = "windows",
    window: int = 100,
    batch_size: int = 64,
    min_count: int = 1,
    max_vocab: int | None = None,
    seed: int = 0,
    info: dict | None = None,
) -> LanguageModelData:
    """A vocabulary from the training text and pipelines for both texts.

    `mode="windows"` cuts each text into windows of `window` tokens (validation windows overlap
    by half a window that is context only, so every token is scored with history);
    `mode="sentences"` makes one padded example per non-empty line.
    """
    check_level(level)
    if mode not in MODES:
        raise ValueError(f"Unknown language-model data mode. Received: mode={mode!r}; allowed: {list(MODES)}")
    if mode == "windows":
        train_tokens, val_tokens = text_tokens([train_text, val_text], level)
        vocab = lm_vocabulary([train_tokens], min_count=min_count, max_size=max_vocab)
        train_ds = window_dataset(encode(train_tokens, vocab), window=window, batch_size=batch_size, seed=seed)
        dev_ds = window_dataset(encode(val_tokens, vocab), window=window, batch_size=batch_size,
                                context=window // 2, shuffle=False)
        counts = {"train_tokens": len(train_tokens), "val_tokens": len(val_tokens)}
    else:
        train_lines, val_lines = nonempty_lines(train_text), nonempty_lines(val_text)
        train_tokens, val_tokens = text_tokens(train_lines, level), text_tokens(val_lines, level)
        vocab = lm_vocabulary(train_tokens, min_count=min_count, max_size=max_vocab)
        train_ds = sentence_dataset([encode(t, vocab) for t in train_tokens], vocab, batch_size=batch_size, seed=seed)
        dev_ds = sentence_dataset([encode(t, vocab) for t in val_tokens], vocab, batch_size=batch_size, shuffle=False)
        counts = {"train_sentences": len(train_lines), "val_sentences": len(val_lines)}
    return LanguageModelData(
        vocab=vocab, level=level, mode=mode, window=window, train_ds=train_ds, dev_ds=dev_ds,
        info={**(info or {}), **counts, "level": level, "mode": mode, "window": window, "vocab_size": len(vocab),
              "batch_size": batch_size},
    )
