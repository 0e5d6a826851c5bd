"""The exported translator and captioner graphs: strings in, strings out, reloaded without zoo."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from pipelines.readers.parallel_pair import ParallelPair
from pipelines.seq2seq import encode_pairs, fit_text_encoder, seq2seq_dataset
from pipelines.subwords import SentencePieceEncoder, train_sentencepiece
from tests.helpers import run_without_zoo
from zoo.losses import MaskedSparseNLL
from zoo.seq2seq_server import Seq2SeqServer
from zoo.serving import check_serving_ops

WORDS = ["sun", "moon", "star", "tree", "river", "stone", "cloud", "bird"]
RENAMED = {w: w.upper() + "x" for w in WORDS}  # the "translation" of each word
SOURCES = ["sun moon star", "tree river", "stone cloud bird sun", "moon tree", "river stone star",
           "bird cloud", "star sun tree river", "cloud moon"]
PAIRS = [ParallelPair(s, " ".join(RENAMED[w] for w in reversed(s.split()))) for s in SOURCES]

RELOAD = """
import json, tensorflow as tf, tensorflow_text  # noqa: F401
loaded = tf.saved_model.load({path!r})
out = {{}}
for name in ("serving_default", "greedy"):
    result = loaded.signatures[name](text=tf.constant({texts!r}))
    out[name] = {{k: v.numpy().tolist() for k, v in result.items()}}
print(json.dumps(out, default=lambda b: b.decode("utf-8")))
"""


@pytest.fixture(scope="module")
def trained():
    """A tiny word-level `gru_seq2seq` trained until it reverses and renames the 8 sentences."""
    keras.utils.set_random_seed(0)
    source_encoder = fit_text_encoder([p.source for p in PAIRS], level="word")
    target_encoder = fit_text_encoder([p.target for p in PAIRS], level="word")
    sources, targets, _ = encode_pairs(PAIRS, source_encoder=source_encoder, target_encoder=target_encoder)
    model = zoo.build("gru_seq2seq", source_vocab_size=source_encoder.vocab_size,
                      target_vocab_size=target_encoder.vocab_size, embedding_dim=16, units=32, attention_units=16)
    model.compile(keras.optimizers.Adam(0.03), loss=MaskedSparseNLL())
    dataset = seq2seq_dataset(sources, targets, batch_size=8, num_buckets=1, shuffle=False)
    model.fit(dataset.repeat(), steps_per_epoch=120, epochs=1, verbose=0)
    return model, source_encoder, target_encoder


def test_translator_export_is_string_in_string_out_and_reloads_without_zoo(trained, tmp_path):
    model, source_encoder, target_encoder = trained
    server = Seq2SeqServer(model, source_encoder=source_encoder, target_encoder=target_encoder, beam_width=3,
                           max_length=8, max_source_length=50)
    path = str(tmp_path / "translator")
    tf.saved_model.save(server, path, signatures=server.signatures())
    check_serving_ops(path)
    long = " ".join(["sun"] * 1000)
    texts = [*SOURCES, "", long]
    out = run_without_zoo(RELOAD.format(path=path, texts=texts), cwd=tmp_path)
    local = {name: {k: v.numpy() for k, v in fn(tf.constant(texts)).items()} for name, fn in server.signatures().items()}
    for name in ("serving_default", "greedy"):
        result = out[name]
        assert result["translation"][:8] == [p.target for p in PAIRS]
        assert [row[:n] for row, n in zip(result["tokens"][:8], result["length"])] == [p.target.split() for p in PAIRS]
        assert result["translation"][8] == "" and result["length"][8] == 0 and result["score"][8] == 0.0
        assert set(result["tokens"][8]) <= {""}
        assert 1 <= result["length"][9] <= 8  # 1,000 words in, cut to 50, decoded to at most 8 pieces
        np.testing.assert_allclose(result["score"], local[name]["score"], atol=1e-4)
        assert all(score < 0 for score in result["score"][:8])


def test_subword_translator_graph_uses_only_serving_ops(tmp_path):
    """SentencePiece in the graph: allowed ops, and the reloaded graph (without zoo) answers as the original."""
    texts = [p.source for p in PAIRS] + [p.target for p in PAIRS]
    encoder = SentencePieceEncoder(train_sentencepiece(texts, vocab_size=40))
    model = zoo.build("lstm_seq2seq", preset="tiny", source_vocab_size=encoder.vocab_size,
                      target_vocab_size=encoder.vocab_size, attention="dot")
    server = Seq2SeqServer(model, source_encoder=encoder, target_encoder=encoder, beam_width=2, max_length=5)
    path = str(tmp_path / "subwords")
    tf.saved_model.save(server, path, signatures=server.signatures())
    check_serving_ops(path)
    texts = ["sun moon", "", "Ünknown ß"]
    out = run_without_zoo(RELOAD.format(path=path, texts=texts), cwd=tmp_path)
    local = server.serve(tf.constant(texts))
    assert out["serving_default"]["translation"] == [t.decode() for t in local["translation"].numpy()]
    assert out["serving_default"]["translation"][1] == ""
    np.testing.assert_allclose(out["serving_default"]["score"], local["score"], atol=1e-4)


def test_server_options_are_checked(trained):
    model, source_encoder, target_encoder = trained
    with pytest.raises(ValueError, match="beam_width=0"):
        Seq2SeqServer(model, source_encoder=source_encoder, target_encoder=target_encoder, beam_width=0)
    with pytest.raises(ValueError, match="source_encoder=None"):
        Seq2SeqServer(model, target_encoder=target_encoder)
