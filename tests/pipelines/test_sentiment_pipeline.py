"""Sentiment data: the tweets CSV and SST-2 TSV readers, tweet tokenization, splits and the tf.data pipeline."""

import gzip
import re

import numpy as np
import pytest
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.readers.sst2_tsv import read_sst2_tsv
from pipelines.readers.tweets_csv import read_tweets_csv
from pipelines.sentiment import (
    LabelledTexts,
    fixed_split,
    inside_any,
    read_sentiment,
    sentiment_dataset,
    sentiment_vocabulary,
    split_data,
    sst2_leak_free_split,
    tokenize_tweets,
    tweet_token_lists,
)

# As in the NLTK export: header with leading spaces ending in LF, rows in CRLF, quoted fields with newlines.
HEADER = "tweet_id, tweet_time, tweet_author, tweet_author_id,    tweet_language, tweet_geo, tweet_text\n"
ROWS = [
    "1,Fri Jul 24,ann,11,en,,hopeless for tmr :(\r\n",
    '2,Fri Jul 24,bob,12,en,,"line one\nline two, with a comma :)"\r\n',
    '3,Fri Jul 24,cat,13,en,,"a ""quoted"" word"\r\n',
]


def _write(path, text, gz=False):
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_tweets_csv_reads_the_last_column_across_lines(tmp_path, gz):
    path = _write(tmp_path / ("t.csv.gz" if gz else "t.csv"), HEADER + "".join(ROWS), gz)
    assert read_tweets_csv(path) == ["hopeless for tmr :(", "line one\nline two, with a comma :)", 'a "quoted" word']


@pytest.mark.parametrize("body, line, message", [
    ("tweet_id, tweet_text\n" + ROWS[0], 2, "expected 2 comma-separated fields like the header, got 7"),
    ("a, b, text\n", 1, "last column is 'tweet_text'"),
    (HEADER + ROWS[1] + "4,Fri,dan,14,en,,\"never closed\r\n", 4, "cannot parse the CSV row"),
    (HEADER, None, "no tweets after the header"),
])
def test_tweets_csv_errors_name_the_line(tmp_path, body, line, message):
    path = _write(tmp_path / "bad.csv", body)
    with pytest.raises(DataError, match=message) as info:
        read_tweets_csv(path)
    assert info.value.line == line and info.value.path == str(path)


def test_sst2_tsv_strips_glue_spaces_and_checks_rows(tmp_path):
    good = _write(tmp_path / "train.tsv", "sentence\tlabel\nhide new secretions \t0\nis a gem \t1\n")
    assert read_sst2_tsv(good) == (["hide new secretions", "is a gem"], [0, 1])
    for body, line, message in [
        ("text\tlabel\nx\t1\n", 1, "expected the header"),
        ("sentence\tlabel\nfine \t1\nbad \t2\n", 3, "expected the label 0 or 1, got '2'"),
        ("sentence\tlabel\nno tab here\n", 2, "expected 2 tab-separated fields"),
        ("sentence\tlabel\n \t1\n", 2, "the sentence is empty"),
        ("sentence\tlabel\n", None, "no sentences"),
    ]:
        with pytest.raises(DataError, match=message) as info:
            read_sst2_tsv(_write(tmp_path / "bad.tsv", body))
        assert info.value.line == line


@pytest.mark.parametrize("text, tokens", [
    ("#FollowFriday @France_Inte top engaged :-))) http://t.co/abc",
     ["#followfriday", "<user>", "top", "engaged", ":)", "<url>"]),
    ("I don't : ) &lt;3 at 10:30", ["i", "don't", ":)", "<3", "at", "10", ":", "30"]),
    ("great:D!! (: ;p :'(", ["great", ":d", "!", "!", "(:", ";p", ":("]),
    ("http://t.co/x”:(", ["<url>", "”", ":("]),
    ("'quoted' does n't", ["'", "quoted", "'", "does", "n't"]),
    ("go\u00a0:(\u2028ok", ["go", ":(", "ok"]),  # Unicode spaces separate like ASCII ones
    ("   ", ["<empty>"]),
])
def test_tokenize_tweets_keeps_tweet_tokens_whole(text, tokens):
    assert [t.decode("utf-8") for t in tokenize_tweets([text]).to_list()[0]] == tokens
    assert tweet_token_lists([text]) == [tokens]


def test_dataset_pads_each_batch_to_its_longest_text():
    data = LabelledTexts(("good :)", "so so bad :( :(", "ok"), (1, 0, 1))
    vocab = sentiment_vocabulary(data.texts)
    assert vocab.tokens[:4] == ("<PAD>", "<UNK>", ":(", "so")  # by frequency, then alphabetically
    dataset = sentiment_dataset(data, vocab, batch_size=2, shuffle=False)
    assert dataset.element_spec == (tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32))
    (ids, labels), (ids2, labels2) = list(dataset.as_numpy_iterator())
    index = vocab.index
    np.testing.assert_array_equal(ids, [[index["good"], index[":)"], 0, 0, 0],
                                        [index["so"], index["so"], index["bad"], index[":("], index[":("]]])
    np.testing.assert_array_equal(labels, [1, 0])
    np.testing.assert_array_equal(ids2, [[index["ok"]]])
    np.testing.assert_array_equal(labels2, [1])


def test_fixed_split_is_seeded_disjoint_and_complete():
    train, dev, test = fixed_split(10_000, seed=0)
    assert (len(train), len(dev), len(test)) == (8000, 1000, 1000)
    assert sorted(np.concatenate([train, dev, test]).tolist()) == list(range(10_000))
    np.testing.assert_array_equal(fixed_split(10_000, seed=0)[2], test)
    assert not np.array_equal(fixed_split(10_000, seed=1)[2], test)
    with pytest.raises(ValueError, match="fractions"):
        fixed_split(10, fractions=(0.5, 0.6))


def test_tweet_splits_come_from_one_partition():
    data = LabelledTexts(tuple(f"tweet {i}" for i in range(20)), (1,) * 10 + (0,) * 10, "p,n")
    parts = {name: split_data(data, "tweets", name) for name in ("train", "dev", "test")}
    assert [len(parts[n]) for n in ("train", "dev", "test")] == [16, 2, 2]
    assert len(set().union(*(p.texts for p in parts.values()))) == 20
    assert parts["test"].source == "tweets/test:p,n"


PHRASES = [
    "a good film", "good film", "a good", "film",  # one sentence and its phrases
    "a bad plot twist", "bad plot", "plot twist", "twist",
    "an ok movie", "ok", "movie",
    "goo",  # not inside "a good film": containment is of whole tokens
]


def test_sst2_dev_is_whole_sentences_and_train_holds_none_of_their_phrases():
    train, dev, info = sst2_leak_free_split(PHRASES, dev_fraction=0.25, seed=0)
    assert len(dev) == 1 and PHRASES[dev[0]] in ["a bad plot twist", "a good film", "an ok movie", "goo"]
    sentence = f" {PHRASES[dev[0]]} "
    assert train.tolist() == [i for i, p in enumerate(PHRASES) if f" {p} " not in sentence]
    assert info == {"phrases": 12, "whole_sentences": 4, "dev_sentences": 1, "train_phrases": len(train),
                    "dropped_phrases": 12 - len(train)}
    np.testing.assert_array_equal(sst2_leak_free_split(PHRASES, dev_fraction=0.25, seed=0)[1], dev)


def test_inside_any_matches_whole_tokens():
    assert inside_any(["good film", "goo", "a good film", "film a"], ["a good film", "b"]).tolist() == [
        True, False, True, False]


@pytest.mark.parametrize("spec, message", [
    ("csv:x", "among 'tweets', 'sst2', got 'csv'"),
    ("tweets", "expected a data spec 'FORMAT[/SPLIT]:PATHS'"),
    ("tweets:only_one.csv", "expected 'tweets:POS_PATH,NEG_PATH'"),
    ("sst2:/no/such/train.tsv", "/no/such/train.tsv: file not found"),
])
def test_bad_specs_are_data_errors(spec, message):
    with pytest.raises(DataError, match=re.escape(message)):
        read_sentiment(spec)


def test_unknown_split_is_named(tmp_path):
    path = _write(tmp_path / "train.tsv", "sentence\tlabel\na b \t1\nc \t0\n")
    with pytest.raises(DataError, match=r"a split of 'sst2' among \['train', 'dev'\], got 'test'"):
        read_sentiment(f"sst2/test:{path}")
