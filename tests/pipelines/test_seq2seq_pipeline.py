"""Text encoders (SentencePiece subwords, words) and the teacher-forcing pipeline of seq2seq models."""

import numpy as np
import pytest
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.readers.parallel_pair import ParallelPair
from pipelines.seq2seq import encode_pairs, fit_text_encoder, load_text_encoder, seq2seq_dataset, teacher_forcing
from pipelines.subwords import SentencePieceEncoder, train_sentencepiece
from pipelines.word_encoder import WordEncoder

TEXTS = ["A dog runs in the park .", "Two men are talking on a bench .", "A woman rides a red bike .",
         "Zwei Männer reden auf einer Bank .", "Ein Hund rennt im Park .", "Eine Frau fährt ein rotes Fahrrad ."] * 5


@pytest.fixture(scope="module")
def sentencepiece_model():
    return train_sentencepiece(TEXTS, vocab_size=60, model_type="unigram")


def test_sentencepiece_specials_are_fixed_and_ids_match_python_in_the_graph(sentencepiece_model):
    import sentencepiece

    python = sentencepiece.SentencePieceProcessor(model_proto=sentencepiece_model)
    assert [python.id_to_piece(i) for i in range(4)] == ["<PAD>", "<UNK>", "<BOS>", "<EOS>"]
    texts = TEXTS[:6] + ["", "Ein Dog fährt ß."]
    graph = SentencePieceEncoder(sentencepiece_model).tokenize(tf.constant(texts)).to_list()
    assert graph == python.encode(texts)
    assert graph[6] == [] and 1 in graph[7]  # "ß" was never seen: <UNK>


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_sentencepiece_round_trip_restores_the_text(model_type, tmp_path):
    encoder = SentencePieceEncoder(train_sentencepiece(TEXTS, vocab_size=60, model_type=model_type))
    ids = encoder.tokenize(tf.constant(TEXTS[:6]))
    assert [t.decode() for t in encoder.detokenize(ids).numpy()] == TEXTS[:6]
    padded = tf.concat([tf.fill([6, 1], 2), ids.to_tensor(0), tf.fill([6, 1], 3)], axis=1)  # <BOS> .. <EOS> <PAD>..
    assert [t.decode() for t in encoder.detokenize(padded).numpy()] == TEXTS[:6]
    encoder.save(tmp_path / "de.model")
    assert load_text_encoder(tmp_path / "de.model").tokenize(tf.constant(TEXTS[:6])).to_list() == ids.to_list()


def test_sentencepiece_rejects_bad_options():
    with pytest.raises(ValueError, match="model_type='char'"):
        train_sentencepiece(TEXTS, model_type="char")
    with pytest.raises(ValueError, match="vocab_size=4"):
        train_sentencepiece(TEXTS, vocab_size=4)
    with pytest.raises(DataError, match="got none"):
        train_sentencepiece([" ", ""])


def test_encoders_tokenize_inside_a_reloaded_saved_model(sentencepiece_model, tmp_path):
    """No Python at serve time: both encoders survive tf.saved_model.save and a reload."""
    module = tf.Module()
    module.subwords = SentencePieceEncoder(sentencepiece_model)
    module.words = WordEncoder.fit(TEXTS)
    module.encode = tf.function(lambda text: {"subwords": module.subwords.tokenize(text).to_tensor(),
                                              "words": module.words.tokenize(text).to_tensor()},
                                input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "m"))
    reloaded = tf.saved_model.load(str(tmp_path / "m"))
    got = reloaded.encode(tf.constant(TEXTS[:2]))
    np.testing.assert_array_equal(got["subwords"], module.subwords.tokenize(TEXTS[:2]).to_tensor())
    np.testing.assert_array_equal(got["words"], module.words.tokenize(TEXTS[:2]).to_tensor())


def test_two_sentencepiece_models_stay_two_in_a_reloaded_saved_model(tmp_path):
    """A translator holds a source and a target model: reloaded, each still tokenizes with its own (they were one
    resource before their names carried the model's digest, and the target detokenized with the source model)."""
    english, german = TEXTS[:3] * 10, TEXTS[3:] * 10
    module = tf.Module()
    module.source = SentencePieceEncoder(train_sentencepiece(english, vocab_size=40))
    module.target = SentencePieceEncoder(train_sentencepiece(german, vocab_size=50))
    module.encode = tf.function(lambda text: {"source": module.source.tokenize(text).to_tensor(),
                                              "target": module.target.tokenize(text).to_tensor(),
                                              "sizes": tf.stack([module.source._tokenizer.vocab_size(),
                                                                 module.target._tokenizer.vocab_size()])},
                                input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "m"))
    got = tf.saved_model.load(str(tmp_path / "m")).encode(tf.constant(TEXTS))
    assert got["sizes"].numpy().tolist() == [module.source.vocab_size, module.target.vocab_size]
    np.testing.assert_array_equal(got["source"], module.source.tokenize(TEXTS).to_tensor())
    np.testing.assert_array_equal(got["target"], module.target.tokenize(TEXTS).to_tensor())


def test_word_encoder_ids_specials_and_decoding(tmp_path):
    encoder = fit_text_encoder(["A dog runs.", "a Dog sleeps."], level="word", lowercase=True)
    assert encoder.vocab.tokens == ("<PAD>", "<UNK>", "<BOS>", "<EOS>", ".", "a", "dog", "runs", "sleeps")
    ids = encoder.tokenize(tf.constant(["A DOG runs.", "cats run", ""]))
    assert ids.to_list() == [[5, 6, 7, 4], [1, 1], []]
    decoded = encoder.detokenize(tf.constant([[2, 5, 6, 1, 3, 0]])).numpy().tolist()
    assert decoded == [b"a dog <UNK>"]
    encoder.save(tmp_path / "en.vocab")
    assert load_text_encoder(tmp_path / "en.vocab", lowercase=True).tokenize(["A dog"]).to_list() == [[5, 6]]
    with pytest.raises(ValueError, match="level='char'"):
        fit_text_encoder(TEXTS, level="char")
    with pytest.raises(ValueError, match="allowed suffixes"):
        load_text_encoder(tmp_path / "en.txt")


def test_teacher_forcing_shifts_the_target_by_one():
    target_in, target_out = teacher_forcing(tf.ragged.constant([[7, 8], [9]]))
    assert target_in.to_list() == [[2, 7, 8], [2, 9]]
    assert target_out.to_list() == [[7, 8, 3], [9, 3]]


PAIRS = [ParallelPair("a dog runs", "ein hund rennt"), ParallelPair("a cat", "eine katze"),
         ParallelPair("two dogs run fast", "zwei hunde rennen schnell")]


def test_one_batch_exactly_with_long_pairs_dropped():
    source_encoder = fit_text_encoder([p.source for p in PAIRS], level="word")
    target_encoder = fit_text_encoder([p.target for p in PAIRS], level="word")
    # source: a=4 cat=5 dog=6 dogs=7 fast=8 run=9 runs=10 two=11; target: ein=4 eine=5 hund=6 .. katze=8 rennt=10
    sources, targets, dropped = encode_pairs(PAIRS, source_encoder=source_encoder, target_encoder=target_encoder,
                                             max_length=3)
    assert dropped == 1
    dataset = seq2seq_dataset(sources, targets, batch_size=4, shuffle=False)
    spec = tf.TensorSpec((None, None), tf.int32)
    assert dataset.element_spec == ({"source_ids": spec, "target_in": spec}, spec)
    (inputs, target_out), = list(dataset)
    np.testing.assert_array_equal(inputs["source_ids"], [[4, 6, 10], [4, 5, 0]])
    np.testing.assert_array_equal(inputs["target_in"], [[2, 4, 6, 10], [2, 5, 8, 0]])
    np.testing.assert_array_equal(target_out, [[4, 6, 10, 3], [5, 8, 3, -1]])
    with pytest.raises(DataError, match="max_length=1"):
        encode_pairs(PAIRS, source_encoder=source_encoder, target_encoder=target_encoder, max_length=1)


def test_batches_group_similar_lengths():
    """10 one-token rows and 6 nine-token rows in shuffled order: no batch mixes them, so none is padded."""
    short, long = [[5]] * 10, [[5] * 9] * 6
    dataset = seq2seq_dataset(tf.ragged.constant(short + long), tf.ragged.constant(short + long), batch_size=8,
                              num_buckets=2, seed=1)
    batches = [inputs["source_ids"].numpy() for inputs, _ in dataset]
    assert all((batch != 0).all() for batch in batches)
    assert sorted(batch.shape for batch in batches) == [(2, 1), (6, 9), (8, 1)]
