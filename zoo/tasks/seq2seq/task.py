"""The translation and captioning tasks: one set of hooks, the captioner overriding what differs.

Both train a decoder with teacher forcing (Adam with gradient clipping, label-smoothed masked NLL,
perplexity), choose the epoch of lowest dev perplexity and export a `Seq2SeqServer` (beam search as
`serving_default`, `greedy` beside it). They differ in their data (sentence pairs / captioned images),
the serving input (`text` / `image_bytes`) and the score (sacreBLEU and chrF / BLEU-1..4 against every
reference caption of an image).
"""

from __future__ import annotations

import json

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ZooError
from zoo.losses import MaskedSparseNLL
from zoo.metrics.bleu import caption_bleu, translation_scores
from zoo.metrics.perplexity import Perplexity
from zoo.models.captioner import TASK as CAPTIONING
from zoo.models.seq2seq import TASK as TRANSLATION
from zoo.registry import get_spec
from zoo.seq2seq_server import Seq2SeqServer
from zoo.tasks.base import Task
from zoo.tasks.loops import load_export
from zoo.tasks.seq2seq.data import (
    prepare_caption_data,
    prepare_translation_data,
    read_captioned_images,
    read_translation_pairs,
    saved_encoders,
)
from zoo.tasks.seq2seq.serving import decode_all, read_images
from zoo.training import quiet_dataset_warnings

# Training and decoding options (`zoo train --label-smoothing ... --beam-width ...`), with their defaults.
OPTIONS = {"label_smoothing": 0.1, "clipnorm": 5.0, "beam_width": 4, "alpha": 0.6, "max_decode_length": 64,
           "max_source_length": 256}
OUTPUTS = ("tokens (the output pieces, padded with \"\"), score (log-probability of the output and its <EOS>), "
           "length (pieces)")
EXAMPLES = 3  # dev examples shown after training


def describe_signatures(mapping: str, note: str = "") -> dict:
    """The model card's description of the two signatures, from what they map and a note."""
    return {"serving_default": f"{mapping} (beam search of the card's beam_width and alpha), {OUTPUTS}{note}",
            "greedy": "the same inputs and outputs, greedy decoding"}


def compile_seq2seq(model: keras.Model, *, learning_rate=1e-3, label_smoothing: float = 0.1,
                    clipnorm: float = 5.0) -> keras.Model:
    """Adam with clipping by global norm, label-smoothed masked NLL, and perplexity (of the unsmoothed NLL)."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
                  loss=MaskedSparseNLL(label_smoothing=label_smoothing), metrics=[Perplexity()])
    return model


def dev_perplexity(model: keras.Model, dataset: tf.data.Dataset) -> dict:
    with quiet_dataset_warnings():
        loss, perplexity = model.evaluate(dataset, verbose=0)
    return {"val_loss": round(float(loss), 4), "perplexity": round(float(perplexity), 3)}


class TranslationTask(Task):
    """Translators (`gru_seq2seq`, `lstm_seq2seq`): sentence pairs in, an export that translates strings."""

    name = TRANSLATION
    noun = "a translator"
    monitor, mode = "val_perplexity", "min"
    options = OPTIONS
    input_name, output_name = "text", "translation"
    signatures = describe_signatures("text: 1-D string batch -> translation", "; an empty text gives an empty translation")

    # -- data and training

    def read_data(self, args, config):
        data = prepare_translation_data(
            args.data, args.dev, level=args.level, vocab_size=args.vocab_size, model_type=args.model_type,
            joint_vocab=args.joint_vocab, lowercase=args.lowercase, max_length=args.max_length,
            batch_size=args.batch_size, seed=args.seed)
        return data, config, {}

    def sizes(self, data):
        return {"source_vocab_size": int(data.source_encoder.vocab_size),
                "target_vocab_size": int(data.target_encoder.vocab_size)}

    def compile(self, model, *, learning_rate, data=None, epochs=None, label_smoothing=0.1, clipnorm=5.0, **options):
        try:
            return compile_seq2seq(model, learning_rate=learning_rate, label_smoothing=label_smoothing,
                                   clipnorm=clipnorm)
        except ValueError as error:
            raise ZooError(str(error)) from None

    def check_options(self, data, *, tuning=False, label_smoothing=0.1, clipnorm=5.0, beam_width=4, alpha=0.6,
                      max_decode_length=64, max_source_length=256, **options):
        for key, value in (("beam_width", beam_width), ("max_decode_length", max_decode_length),
                           ("max_source_length", max_source_length)):
            if value < 1:
                raise ZooError(f"{key} must be >= 1. Received: {key}={value}")
        if not 0 <= label_smoothing < 1:
            raise ZooError(f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing}")
        if alpha < 0:
            raise ZooError(f"alpha (the length-penalty exponent) must be >= 0. Received: alpha={alpha}")

    def training_card(self, models, runs, *, label_smoothing=0.1, clipnorm=5.0, **options):
        return {"label_smoothing": label_smoothing, "clipnorm": clipnorm}

    # -- export

    def serving_module(self, models, data, workdir, *, beam_width=4, alpha=0.6, max_decode_length=64,
                       max_source_length=256, **options):
        """The serving graph; the encoders are also saved in `workdir` (`source.*`, `target.*`)."""
        source_encoder, target_encoder = saved_encoders(data, workdir)
        return Seq2SeqServer(models[0], source_encoder=source_encoder, target_encoder=target_encoder,
                             beam_width=beam_width, alpha=alpha, max_length=max_decode_length,
                             max_source_length=max_source_length)

    def serving_signatures(self, server):
        return server.signatures()

    def card(self, server):
        return {"input": self.input_name, "output": self.output_name, "beam_width": server.beam_width,
                "alpha": server.alpha, "max_decode_length": server.max_length,
                "max_source_length": server.max_source_length}

    def requests(self, inputs) -> list:
        """What the serving function takes for dev or command-line inputs (texts as they are)."""
        return list(inputs)

    def metric(self, hypotheses, references) -> dict:
        return translation_scores(hypotheses, references)

    def score(self, server, data, *, name, workdir, seed=0, **options):
        hypotheses = decode_all(server.serve, self.requests(data.dev_inputs), input_name=self.input_name)
        metrics = {**self.metric(hypotheses, data.dev_references), **dev_perplexity(server.model, data.dev_ds),
                   "decoding": f"beam search, width {server.beam_width}, alpha {server.alpha}"}
        examples = [{"input": str(i), "output": h, "references": r}
                    for i, h, r in zip(data.dev_inputs, hypotheses, data.dev_references)][:EXAMPLES]
        return {**metrics, "examples": examples}, {"metrics": metrics}

    def example_inputs(self):
        return {"text": ["A man is riding a bicycle ."]}

    # -- evaluation and prediction

    def read_labelled(self, data_spec, card, *, greedy=False, **options):
        """(inputs, their references, greedy) of a pair file; every source keeps its own reference."""
        pairs = read_translation_pairs(data_spec)
        return [p.source for p in pairs], [[p.target] for p in pairs], greedy

    def decode(self, loaded, inputs, *, greedy: bool) -> list[str]:
        function = loaded.signatures["greedy" if greedy else "serving_default"]
        try:
            return decode_all(function, self.requests(inputs), input_name=self.input_name)
        except tf.errors.InvalidArgumentError as error:
            raise ZooError(f"the export could not decode the input: {error.message.splitlines()[0]}") from None

    def score_export(self, loaded, card, data):
        inputs, references, greedy = data
        hypotheses = self.decode(loaded, inputs, greedy=greedy)
        decoding = "greedy" if greedy else f"beam search, width {card['beam_width']}, alpha {card['alpha']}"
        return {**self.metric(hypotheses, references), "decoding": decoding, "examples_scored": len(inputs)}

    def format_report(self, report):
        return (f"BLEU {report['bleu']:.2f} ({report['bleu_signature']})\n"
                f"BLEU lowercased {report['bleu_lowercase']:.2f} ({report['bleu_lowercase_signature']})\n"
                f"chrF {report['chrf']:.2f} ({report['chrf_signature']})"
                + (f"\nperplexity {report['perplexity']:.3f}" if "perplexity" in report else "")
                + f"\ndecoding: {report['decoding']}")

    def format_result(self, report):
        lines = [self.format_report(report)]
        lines += [f"dev example: {e['input']!r} -> {e['output']!r} (reference {e['references'][0]!r})"
                  for e in report["examples"]]
        return "\n".join(lines)

    def predict(self, export, inputs, *, greedy=False, **options):
        from zoo.serving import load

        outputs = self.decode(load(load_export(self, export)[0]), inputs, greedy=greedy)
        return [{"input": i, self.output_name: o} for i, o in zip(inputs, outputs)]

    def format_predictions(self, inputs, results, *, as_json=False):
        if as_json:
            return json.dumps(results, indent=2, ensure_ascii=False)
        return "\n".join(r[self.output_name] for r in results)


class CaptioningTask(TranslationTask):
    """Captioners (`cnn_rnn_captioner`): captioned images in, an export that captions image bytes."""

    name = CAPTIONING
    noun = "a captioner"
    input_name, output_name = "image_bytes", "caption"
    signatures = describe_signatures("image_bytes: 1-D string batch of encoded images (JPEG, PNG, GIF, BMP) -> caption")

    def read_data(self, args, config):
        """The images are resized to the model's `input_shape` (`--image-size N` sets it to N x N)."""
        if args.joint_vocab:
            raise ZooError("--joint-vocab shares a vocabulary between two languages; captioning has one")
        if args.image_size is not None:
            if args.image_size < 1:
                raise ZooError(f"--image-size must be >= 1. Received: --image-size {args.image_size}")
            config = {**config, "input_shape": [args.image_size, args.image_size, 3]}
        try:
            height, width, channels = get_spec(args.name).config(args.preset, **config)["input_shape"]
        except ValueError as error:
            raise ZooError(str(error)) from None
        data = prepare_caption_data(
            args.data, args.dev, image_size=(height, width), channels=channels, level=args.level,
            vocab_size=args.vocab_size, model_type=args.model_type, lowercase=args.lowercase,
            batch_size=args.batch_size, seed=args.seed)
        return data, config, {}

    def sizes(self, data):
        return {"target_vocab_size": int(data.target_encoder.vocab_size)}

    def requests(self, inputs):
        return read_images(inputs)

    def metric(self, hypotheses, references):
        return caption_bleu(hypotheses, references)

    def example_inputs(self):
        # A 4x4 gray PNG: the export resizes any image to its input size.
        return {"image_bytes": [tf.io.encode_png(np.full((4, 4, 3), 128, np.uint8)).numpy()]}

    def read_labelled(self, data_spec, card, *, greedy=False, **options):
        images = read_captioned_images(data_spec)
        return [i.image for i in images], [list(i.captions) for i in images], greedy

    def format_report(self, report):
        bleu = ", ".join(f"BLEU-{n} {report[f'bleu_{n}']:.2f}" for n in range(1, 5))
        return (f"{bleu} ({report['bleu_signature']}, against every reference caption)"
                + (f"\nperplexity {report['perplexity']:.3f}" if "perplexity" in report else "")
                + f"\ndecoding: {report['decoding']}")
