"""The n-gram language model: hand-computed probabilities, back-off tables, sampling, bad input, export, CLI.

The toy corpus is three sentences, "a b", "a c" and "b". Its vocabulary is <s> </s> <UNK> a b c;
the V = 5 tokens a model predicts are </s> <UNK> a b c (never <s>). Padded with one <s>, its
bigrams are (<s> a) x2, (<s> b), (a b), (a c), (b </s>) x2, (c </s>): 8 predictions. Context
counts: c(<s>) = 3, c(a) = 2, c(b) = 2, c(c) = 1.
"""

import gzip
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pipelines.errors import DataError
from pipelines.ngram import read_corpus, split_text
from zoo.cli import main
from zoo.export import read_card
from zoo.ngram import NgramLM, estimate_discount
from zoo.serving import check_serving_ops, graph_ops, load, rest_predict

from tests.helpers import check_warmup

TOY = ["a b", "a c", "b"]


def test_add_one_bigram_probabilities():
    """Laplace: P(w|h) = (c(h,w) + 1) / (c(h) + V), V = 5.

    P(a|<s>) = (2+1)/(3+5) = 3/8, P(b|a) = (1+1)/(2+5) = 2/7, P(a|a) = 1/7, P(</s>|b) = 3/7;
    an unseen context gives 1/5. P("a b") = 3/8 * 2/7 * 3/7 = 9/196, perplexity (196/9)^(1/3).
    """
    lm = NgramLM(2, smoothing="add_k", k=1.0).fit(TOY)
    assert lm.vocab == ("<s>", "</s>", "<UNK>", "a", "b", "c")
    counts = {g: lm.count(g.split()) for g in ["<s> a", "a b", "b </s>", "c a", "a", "</s>"]}
    assert counts == {"<s> a": 2, "a b": 1, "b </s>": 2, "c a": 0, "a": 2, "</s>": 3}
    assert lm.prob("a") == pytest.approx(3 / 8)
    assert lm.prob("b", ["a"]) == pytest.approx(2 / 7)
    assert lm.prob("a", ["a"]) == pytest.approx(1 / 7)
    assert lm.prob("</s>", ["b"]) == pytest.approx(3 / 7)
    assert lm.prob("a", ["never-seen"]) == pytest.approx(1 / 5)
    assert lm.logprob("a b") == pytest.approx(math.log(9 / 196))
    assert lm.perplexity(["a b"]) == pytest.approx((196 / 9) ** (1 / 3))


def test_add_k_unigrams():
    """k = 0.5, N = 1: counts a 2, b 2, c 1, </s> 3 of 8; P(w) = (c + 0.5) / (8 + 2.5), P(<UNK>) = 0.5 / 10.5."""
    lm = NgramLM(1, smoothing="add_k", k=0.5).fit(TOY)
    assert lm.prob("</s>") == pytest.approx(3.5 / 10.5)
    assert lm.prob("c", ["a"]) == pytest.approx(1.5 / 10.5)  # a unigram model ignores the context
    assert lm.prob("zzz") == pytest.approx(0.5 / 10.5)


def test_kneser_ney_bigram_probabilities():
    """Interpolated Kneser-Ney, D = 0.5.

    Unigrams use continuation counts N1+(. w), the distinct tokens before w: a {<s>} 1, b {<s>, a} 2,
    c {a} 1, </s> {b, c} 2, <UNK> 0; 6 in all, 4 types. P1(w) = max(N1+ - D, 0)/6 + D*4/6 * 1/5:
    P1(a) = 0.5/6 + 1/15 = 9/60, P1(b) = 19/60, P1(c) = 9/60, P1(</s>) = 19/60, P1(<UNK>) = 4/60.
    Bigrams: P(w|h) = max(c(h,w) - D, 0)/c(h) + D*T(h)/c(h) * P1(w), T(h) = distinct tokens after h:
    P(b|a) = 0.5/2 + 0.5*2/2 * 19/60 = 49/120, P(a|a) = 0.5 * 9/60 = 9/120,
    P(a|<s>) = 1.5/3 + 0.5*2/3 * 9/60 = 0.55, P(</s>|b) = 1.5/2 + 0.5*1/2 * 19/60 = 199/240.
    """
    lm = NgramLM(2, smoothing="kneser_ney", discount=0.5).fit(TOY)
    expected_unigrams = {"a": 9 / 60, "b": 19 / 60, "c": 9 / 60, "</s>": 19 / 60, "<UNK>": 4 / 60}
    for token, p in expected_unigrams.items():
        assert lm.prob(token, ["never-seen"]) == pytest.approx(p)
    assert lm.prob("b", ["a"]) == pytest.approx(49 / 120)
    assert lm.prob("a", ["a"]) == pytest.approx(9 / 120)
    assert lm.prob("a") == pytest.approx(0.55)
    assert lm.prob("</s>", ["b"]) == pytest.approx(199 / 240)
    assert lm.logprob("a b") == pytest.approx(math.log(0.55 * 49 / 120 * 199 / 240))


def test_kneser_ney_keeps_raw_counts_for_ngrams_that_start_with_the_start_marker():
    """Trigram, D = 0.5. (<s> a) can only follow <s>, so its continuation count (1) says nothing; its raw
    count 2 is used, and order 2 equals the bigram model above: P2(a|<s>) = 0.55. Then
    P(a|<s> <s>) = 1.5/3 + 0.5*2/3 * 0.55 = 41/60 (with the count 1 it would be 0.6083),
    P(b|<s> a) = 0.5/2 + 0.5*2/2 * P2(b|a) = 0.25 + 0.5 * 49/120 = 109/240.
    """
    lm = NgramLM(3, smoothing="kneser_ney", discount=0.5).fit(TOY)
    assert lm.prob("a") == pytest.approx(41 / 60)
    assert lm.prob("b", ["a"]) == pytest.approx(109 / 240)


@pytest.mark.parametrize("smoothing", ["add_k", "kneser_ney"])
@pytest.mark.parametrize("order", [1, 2, 4])
def test_every_conditional_distribution_sums_to_one(smoothing, order):
    lm = NgramLM(order, smoothing=smoothing, k=0.1).fit(["a b c a", "b b a", "c a b c c", "d"])
    rng = np.random.default_rng(0)
    for _ in range(8):
        context = rng.integers(0, len(lm.vocab), size=max(order - 1, 0))
        distribution = lm.distribution(context)
        assert distribution[0] == 0.0 and distribution.sum() == pytest.approx(1.0)


def test_unknown_tokens_and_min_count():
    lm = NgramLM(2, min_count=2).fit(TOY)
    assert "c" not in lm.vocab and lm.info["unknown_tokens"] == 1
    assert lm.prob("c", ["a"]) == lm.prob("<UNK>", ["a"]) == lm.prob("zzz", ["a"]) > 0
    assert lm.prob("<s>", ["a"]) == lm.prob("<UNK>", ["a"])  # the marker's text is an ordinary unknown word


def test_discount_estimate():
    """n1 = 3 n-grams seen once, n2 = 1 seen twice: D = 3 / (3 + 2) = 0.6; without n2 the default 0.75."""
    assert estimate_discount(np.array([1, 1, 1, 2, 5])) == pytest.approx(0.6)
    assert estimate_discount(np.array([1, 1, 3])) == 0.75


def test_char_level_and_perplexity_on_held_out_text():
    train, test = split_text("the cat sat on the mat\nthe hat\n" * 20, 0.9)
    lm = NgramLM(3, level="char").fit(train.split("\n"))
    assert set(lm.vocab[3:]) == set("the casonmt")
    held_out = lm.perplexity(test.split("\n"))
    assert 1.0 < held_out < lm.perplexity(["zzz qqq"])
    log_probs, predictions = lm.score(["the", ""])
    assert predictions.tolist() == [4, 1]  # three characters and </s>; an empty line is just </s>


def test_sampling_is_seeded_and_stays_in_the_vocabulary():
    lm = NgramLM(3, level="char").fit(["abcabc", "abc", "cab"])
    first = lm.sample(seed=3, max_tokens=50)
    assert first == lm.sample(seed=3, max_tokens=50) and set(first) <= set("abc")
    assert len(lm.sample(seed=1, max_tokens=5)) <= 5
    assert lm.sample(seed=0, prefix="ab").startswith("ab")


def test_bad_input_is_named(tmp_path):
    with pytest.raises(DataError, match="the corpus is empty"):
        NgramLM(2).fit([])
    with pytest.raises(DataError, match=r"corpus.txt: the corpus has 2 word token\(s\), fewer than the order N=3"):
        NgramLM(3).fit(["a", "", "b"], source=tmp_path / "corpus.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="empty.txt: file is empty"):
        read_corpus(tmp_path / "empty.txt")
    (tmp_path / "bad.txt").write_bytes(b"fine\n\xff\xfe\n")
    with pytest.raises(DataError, match="bad.txt:2: cannot decode"):
        read_corpus(tmp_path / "bad.txt")
    for kwargs, message in [({"order": 0}, "order=0"), ({"smoothing": "witten_bell"}, "smoothing='witten_bell'"),
                            ({"k": 0}, "k=0"), ({"discount": 1.5}, "discount=1.5"), ({"level": "byte"}, "level='byte'")]:
        with pytest.raises(ValueError, match=message):
            NgramLM(**{"order": 2, **kwargs})
    with pytest.raises(RuntimeError, match="not been fitted"):
        NgramLM(2).perplexity(["a"])


def test_read_corpus_units(tmp_path):
    path = tmp_path / "c.txt.gz"
    path.write_bytes(gzip.compress(b"First line\r\nsecond\n"))
    assert read_corpus(path) == ["First line", "second"]
    assert read_corpus(path, unit="text") == ["First line\nsecond"]


@pytest.fixture(scope="module")
def ngram_export(tmp_path_factory):
    lm = NgramLM(3, smoothing="kneser_ney").fit(["the cat sat", "the dog sat", "a cat ran", "the cat ran"])
    return lm, lm.export(tmp_path_factory.mktemp("ngram"), "toy_lm", card={"metrics": {"note": "test"}})


SENTENCES = ["the cat sat", "a dog", "", "zebra  crossing", "the the the"]


def test_export_scores_like_the_model_in_a_fresh_process(ngram_export):
    lm, path = ngram_export
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf, tensorflow_text  # noqa: F401
        out = tf.saved_model.load({str(path)!r}).signatures["serving_default"](text=tf.constant({SENTENCES!r}))
        print(json.dumps({{**{{k: v.numpy().tolist() for k, v in out.items()}}, "zoo": "zoo" in sys.modules}}))
    """)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                            cwd=path.parent, timeout=120)
    assert result.returncode == 0, result.stderr
    fresh = json.loads(result.stdout.strip().splitlines()[-1])
    log_probs, predictions = lm.score(SENTENCES)
    assert fresh["zoo"] is False and fresh["num_predictions"] == predictions.tolist()
    np.testing.assert_allclose(fresh["log_prob"], log_probs, rtol=1e-10)
    np.testing.assert_allclose(fresh["perplexity"], np.exp(-log_probs / predictions), rtol=1e-10)


def test_export_contract(ngram_export):
    lm, path = ngram_export
    check_serving_ops(path)
    ((_, warmup),) = check_warmup(path, load(path))
    (text,) = [t.decode() for t in warmup["text"]]
    assert text and lm.score([text])[1].tolist() == [len(text.split()) + 1]  # known words and </s>
    assert {"HashTableV2", "LookupTableFindV2", "StringSplitV2"} <= graph_ops(path)
    card = read_card(path)
    assert card["task"] == "ngram" and card["config"]["order"] == 3 and card["metrics"] == {"note": "test"}
    response = rest_predict(load(path), {"instances": ["the cat sat"]})
    (row,) = response["predictions"]
    assert row["num_predictions"] == 4 and row["log_prob"] == pytest.approx(lm.logprob("the cat sat"))


def test_ngram_commands(tmp_path, capsys):
    (tmp_path / "train.txt").write_text("the cat sat\nthe dog sat\na cat ran\n")
    (tmp_path / "dev.txt").write_text("the cat ran\n")
    assert main(["ngram", "fit", "--data", str(tmp_path / "train.txt"), "--dev", str(tmp_path / "dev.txt"),
                 "--order", "2", "--smoothing", "add_k", "--k", "0.5", "--name", "cli_lm",
                 "--export-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "dev_perplexity" in out and "sample 1:" in out and "exported:" in out
    assert main(["ngram", "score", str(tmp_path / "out" / "cli_lm"), "the cat sat", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["num_predictions"] == 4 and row["perplexity"] > 1


@pytest.mark.parametrize("args, message", [  # `--order 0` is the parser's: see CLI_CASES in tests/test_bad_input.py
    (["--order", "9"], "fewer than the order N=9"),
])
def test_ngram_fit_errors_are_one_line(tmp_path, capsys, args, message):
    (tmp_path / "train.txt").write_text("a b c\n")
    assert main(["ngram", "fit", "--data", str(tmp_path / "train.txt"), "--export-dir", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ") and message in err and err.count("\n") == 1
