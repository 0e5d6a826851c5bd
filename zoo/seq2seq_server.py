"""The exported graph of translators and captioners: strings or encoded images in, decoded text out.

Everything between the request and the response is a TensorFlow graph that the stock ModelServer
runs: tensorflow-text tokenization, the encoder, `tf.while_loop` greedy or beam search over the
decoder's cell, detokenization. Recurrent layers are traced with their generic kernels, so no
cuDNN-only op enters the graph.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from pipelines.images import load_pixels, normalize
from zoo.decoding import beam_search, greedy_decode
from zoo.models.seq2seq_step import Seq2SeqStep
from zoo.export import generic_rnn_kernels


class Seq2SeqServer(tf.Module):
    """Serving functions of a trained `gru_seq2seq` / `lstm_seq2seq` (text) or `cnn_rnn_captioner` (images).

    `signatures()` gives `serving_default` (beam search) and `greedy`. A translator takes `text`, a 1-D
    string batch, and returns `translation`; a captioner takes `image_bytes` (JPEG, PNG, ...) and returns
    `caption`. Both also return `tokens` (the output pieces, padded with ""), `score` (the sum of the
    log-probabilities of the output and its `<EOS>`) and `length` (pieces). An empty text gives an empty
    translation of score 0; sources longer than `max_source_length` pieces are cut.

    Args:
        model: the trained model.
        target_encoder: the encoder of the output text (`SentencePieceEncoder` or `WordEncoder`).
        source_encoder: the encoder of the input text (translators only).
        beam_width: hypotheses kept by `serving_default`.
        alpha: the GNMT length-penalty exponent of the beam search.
        max_length: the most output pieces, `<EOS>` included.
        max_source_length: the most input pieces read (translators).
    """

    def __init__(self, model: keras.Model, *, target_encoder, source_encoder=None, beam_width: int = 4,
                 alpha: float = 0.6, max_length: int = 64, max_source_length: int = 256):
        super().__init__(name="seq2seq_server")
        if beam_width < 1 or max_length < 1 or max_source_length < 1:
            raise ValueError(f"beam_width, max_length and max_source_length must be >= 1. Received: "
                             f"beam_width={beam_width}, max_length={max_length}, "
                             f"max_source_length={max_source_length}")
        self.model = model
        self.step = Seq2SeqStep(model)
        self.target_encoder = target_encoder
        self.source_encoder = source_encoder
        self.beam_width, self.alpha = int(beam_width), float(alpha)
        self.max_length, self.max_source_length = int(max_length), int(max_source_length)
        if self.step.masked:
            if source_encoder is None:
                raise ValueError("A translator needs its source_encoder. Received: source_encoder=None")
            spec, call = tf.TensorSpec([None], tf.string, name="text"), self._translate
        else:
            spec, call = tf.TensorSpec([None], tf.string, name="image_bytes"), self._caption
        # No autograph: the loops are explicit tf.while_loops, and tracing does not re-read source files.
        self.serve = tf.function(functools.partial(call, beam=True), input_signature=[spec], autograph=False)
        self.serve_greedy = tf.function(functools.partial(call, beam=False), input_signature=[spec], autograph=False)

    def signatures(self) -> dict:
        return {"serving_default": self.serve, "greedy": self.serve_greedy}

    def _decode(self, source, beam: bool):
        with generic_rnn_kernels(self.model):
            context, states = self.step.encode(source)
        if beam:
            decoded = beam_search(self.step.step, states, context, beam_width=self.beam_width,
                                  max_length=self.max_length, alpha=self.alpha)
        else:
            decoded = greedy_decode(self.step.step, states, context, max_length=self.max_length)
        return decoded

    def _outputs(self, key: str, decoded, keep=None) -> dict:
        lengths, scores = decoded.lengths, decoded.scores
        if keep is not None:  # rows with no input: empty output
            lengths, scores = tf.where(keep, lengths, 0), tf.where(keep, scores, 0.0)
        real = tf.sequence_mask(lengths, tf.shape(decoded.tokens)[1])
        ids = tf.where(real, decoded.tokens, 0)
        longest = tf.reduce_max(tf.concat([lengths, [0]], axis=0))
        return {key: self.target_encoder.detokenize(ids),
                "tokens": tf.where(real, self.target_encoder.id_to_piece(ids), "")[:, :longest],
                "score": scores, "length": lengths}

    def _translate(self, text, beam: bool):
        ids = tf.cast(self.source_encoder.tokenize(text), tf.int32)[:, : self.max_source_length]
        # One padding column more: a batch of empty texts still has a source of width 1 (all masked).
        source_ids = tf.concat([ids.to_tensor(0), tf.zeros([ids.nrows(), 1], tf.int32)], axis=1)
        return self._outputs("translation", self._decode(source_ids, beam), keep=ids.row_lengths() > 0)

    def _caption(self, image_bytes, beam: bool):
        (images,) = [x for x in self.model.inputs if x.name == "images"]
        height, width, channels = images.shape[1:]
        pixels = tf.map_fn(lambda data: load_pixels(data, image_size=(height, width), channels=channels),
                           image_bytes, fn_output_signature=tf.TensorSpec([height, width, channels], tf.float32))
        return self._outputs("caption", self._decode(normalize(pixels), beam))
