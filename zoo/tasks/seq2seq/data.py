"""Sequence-to-sequence data: sentence pairs or captioned images from data specs, encoders, teacher-forcing batches.

Translation fits a SentencePiece or word encoder on the training side of each language (or one on both,
`joint_vocab`); captioning fits one on the training captions. Without a dev spec, 10% of the training
pairs (translation) or of the training images, each with all its captions (captioning), are held out.
"""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path
from typing import Sequence

import tensorflow as tf

from pipelines.captions import caption_dataset
from pipelines.errors import DataError
from pipelines.readers.seq2seq_formats import CAPTION_FORMATS, TRANSLATION_FORMATS
from pipelines.readers.spec import parse_spec
from pipelines.seq2seq import SUFFIXES, encode_pairs, fit_text_encoder, load_text_encoder, seq2seq_dataset
from pipelines.subwords import BOS_ID, EOS_ID, PAD_ID, UNK_ID

HELD_OUT = 0.1


@dataclasses.dataclass
class Seq2SeqData:
    """What a translator or captioner trains from, and the dev examples its serving graph is scored on.

    `dev_inputs` are source sentences (translation) or image paths (captioning); `dev_references`
    holds each one's reference texts.
    """

    target_encoder: object
    source_encoder: object | None
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset
    dev_inputs: list
    dev_references: list[list[str]]
    info: dict
    image_size: tuple[int, int] | None = None


def read_translation_pairs(spec: str) -> list:
    """The sentence pairs of a `parallel:SRC,TGT` or `tsv-pairs:PATH` spec."""
    name, _, path = parse_spec(spec, TRANSLATION_FORMATS, noun="a translation data spec", format_noun="a translation format")
    return TRANSLATION_FORMATS[name](path)


def read_captioned_images(spec: str) -> list:
    """The captioned images of a `flickr8k:CAPTIONS` spec."""
    name, _, path = parse_spec(spec, CAPTION_FORMATS, noun="a captioning data spec", format_noun="a caption format")
    return CAPTION_FORMATS[name](path)


def hold_out(items: Sequence, *, seed: int, what: str, spec: str) -> tuple[list, list]:
    """(train, held out): a seeded random `HELD_OUT` share of `items`, at least one, for dev."""
    if len(items) < 2:
        raise DataError(None, None, f"{spec!r} holds {len(items)} {what}; at least 2 are needed to hold one out "
                                    "for dev (or pass --dev)")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    held = set(order[:max(1, round(len(items) * HELD_OUT))])
    return ([x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held])


def read_splits(reader, train_spec: str, dev_spec: str | None, *, seed: int, limit: int | None,
                what: str) -> tuple[list, list, str]:
    """(train, dev, where dev came from): `reader` of each spec, or a held-out share of the first `limit` of train."""
    items = reader(train_spec)[:limit]
    if dev_spec:
        return items, reader(dev_spec), dev_spec
    train, dev = hold_out(items, seed=seed, what=what.split(",")[0], spec=train_spec)
    return train, dev, f"{HELD_OUT:.0%} of the {what} of train (seed {seed})"


def encoder_info(encoder, *, level: str) -> dict:
    """Model-card entries of an encoder: its kind, size, special ids and case handling."""
    return {"level": level, "vocab_size": int(encoder.vocab_size), "lowercase": bool(getattr(encoder, "lowercase", False)),
            "special_ids": {"<PAD>": PAD_ID, "<UNK>": UNK_ID, "<BOS>": BOS_ID, "<EOS>": EOS_ID}}


def saved_encoders(data: Seq2SeqData, workdir: str | os.PathLike) -> tuple[object | None, object]:
    """(source, target) encoders saved as `workdir/source.*` and `target.*` (`.model` for SentencePiece, `.vocab`
    for words) and read back from there, so the export holds what the workdir keeps.

    Reading back also gives fresh tokenizers: a SentencePiece op's resource dies when `tf.random.set_seed`
    clears TF's kernel cache, which every training run does after the data (and its encoders) were made.
    """
    level = data.info["target"]["level"]
    loaded = []
    for name, encoder in (("source", data.source_encoder), ("target", data.target_encoder)):
        if encoder is None:
            loaded.append(None)
            continue
        path = Path(workdir) / f"{name}{SUFFIXES[level]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        encoder.save(path)
        loaded.append(load_text_encoder(path, lowercase=data.info[name]["lowercase"]))
    return loaded[0], loaded[1]


def _fit(texts, *, level, vocab_size, model_type, lowercase):
    try:
        return fit_text_encoder(texts, level=level, vocab_size=vocab_size, model_type=model_type, lowercase=lowercase)
    except ValueError as error:  # a bad option from the command line
        raise DataError(None, None, str(error)) from None


def prepare_translation_data(train_spec: str, dev_spec: str | None = None, *, level: str = "subword",
                             vocab_size: int = 8000, model_type: str = "unigram", joint_vocab: bool = False,
                             lowercase: bool = False, max_length: int | None = 250, batch_size: int = 64,
                             seed: int = 0, max_pairs: int | None = None) -> Seq2SeqData:
    """Encoders fitted on the training pairs and teacher-forcing pipelines of both splits.

    Training pairs with a side longer than `max_length` tokens are dropped (and counted in `info`);
    dev pairs are all kept, since they are scored by decoding. `max_pairs` keeps the first pairs only.
    """
    train, dev, dev_name = read_splits(read_translation_pairs, train_spec, dev_spec, seed=seed, limit=max_pairs,
                                       what="sentence pairs")
    options = dict(level=level, vocab_size=vocab_size, model_type=model_type, lowercase=lowercase)
    sources, targets = [p.source for p in train], [p.target for p in train]
    if joint_vocab:
        source_encoder = target_encoder = _fit(sources + targets, **options)
    else:
        source_encoder, target_encoder = _fit(sources, **options), _fit(targets, **options)
    try:
        train_ids = encode_pairs(train, source_encoder=source_encoder, target_encoder=target_encoder,
                                 max_length=max_length)
    except ValueError as error:
        raise DataError(None, None, str(error)) from None
    dev_ids = encode_pairs(dev, source_encoder=source_encoder, target_encoder=target_encoder)
    return Seq2SeqData(
        source_encoder=source_encoder, target_encoder=target_encoder,
        train_ds=seq2seq_dataset(*train_ids[:2], batch_size=batch_size, seed=seed),
        dev_ds=seq2seq_dataset(*dev_ids[:2], batch_size=batch_size, shuffle=False),
        dev_inputs=[p.source for p in dev], dev_references=[[p.target] for p in dev],
        info={"train": train_spec, "dev": dev_name, "train_pairs": len(train) - train_ids[2],
              "dropped_longer_than_max_length": train_ids[2], "max_length": max_length, "dev_pairs": len(dev),
              "joint_vocab": joint_vocab, "model_type": model_type if level == "subword" else None,
              "batch_size": batch_size, "source": encoder_info(source_encoder, level=level),
              "target": encoder_info(target_encoder, level=level)},
    )


def prepare_caption_data(train_spec: str, dev_spec: str | None = None, *, image_size: Sequence[int],
                         channels: int = 3, level: str = "word", vocab_size: int = 8000, model_type: str = "unigram",
                         lowercase: bool = False, batch_size: int = 64, seed: int = 0,
                         max_images: int | None = None) -> Seq2SeqData:
    """A caption encoder fitted on the training captions and pipelines of (image, caption) batches.

    Without `dev_spec`, whole images are held out with all their captions, so no dev image is seen in training.
    """
    train, dev, dev_name = read_splits(read_captioned_images, train_spec, dev_spec, seed=seed, limit=max_images,
                                       what="images, each with all its captions,")
    encoder = _fit([c for image in train for c in image.captions], level=level, vocab_size=vocab_size,
                   model_type=model_type, lowercase=lowercase)
    size = tuple(int(n) for n in image_size)
    options = dict(encoder=encoder, image_size=size, channels=channels, batch_size=batch_size)
    return Seq2SeqData(
        source_encoder=None, target_encoder=encoder,
        train_ds=caption_dataset(train, seed=seed, **options), dev_ds=caption_dataset(dev, shuffle=False, **options),
        dev_inputs=[image.image for image in dev], dev_references=[list(image.captions) for image in dev],
        image_size=size,
        info={"train": train_spec, "dev": dev_name, "train_images": len(train), "dev_images": len(dev),
              "train_captions": sum(len(i.captions) for i in train), "image_size": list(size),
              "model_type": model_type if level == "subword" else None, "batch_size": batch_size,
              "target": encoder_info(encoder, level=level)},
    )

