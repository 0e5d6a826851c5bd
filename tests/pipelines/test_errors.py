"""Error messages that quote input cut it, so a 1 MB line does not flood the terminal."""

import pytest

from pipelines.errors import DataError, shown
from pipelines.readers import read_conll, read_gmb_csv, read_token_tag
from pipelines.readers.mrpc import read_mrpc
from pipelines.readers.quora_tsv import read_quora_tsv
from pipelines.readers.sick import read_sick
from pipelines.readers.sst2_tsv import read_sst2_tsv
from pipelines.readers.stsb import read_stsb
from pipelines.readers.tweets_csv import read_tweets_csv
from pipelines.word_vectors import read_word_vectors
from tests.helpers import TWEETS_HEADER

HUGE = "x" * 1_000_000
HUGE_CSV = ",".join(["word"] * 200_000)  # csv refuses single fields over 128 KiB by itself


def test_shown_keeps_short_values():
    assert shown("a\tb") == "'a\\tb'"
    assert shown(["a", "b"]) == "['a', 'b']"


def test_shown_cuts_long_values_and_counts_the_rest():
    """repr("x" * 100) is 102 characters: the first 10 are kept, 92 are counted."""
    assert shown("x" * 100, 10) == "'xxxxxxxxx... (92 more characters)"


# (reader, file text with a huge line 2, fragment of the message): one row per format that quotes input.
LONG_LINES = {
    "conll2003 columns": (read_conll, f"EU NNP I-NP I-ORG\n{HUGE}\n", "expected 4 space-separated columns"),
    "conll2003 tag": (read_conll, f"EU NNP I-NP I-ORG\nx y z {HUGE}\n", "expected a tag 'O' or B-/I-/E-/S-"),
    "gmb header": (read_gmb_csv, f"{HUGE_CSV}\n", "expected the header"),
    "gmb row": (read_gmb_csv, f"Sentence #,Word,POS,Tag\n{HUGE_CSV}\n", "expected 4 comma-separated fields"),
    "tsv": (read_token_tag, f"EU\tB-ORG\n{HUGE}\tO\tO\n", "expected 2 tab-separated columns"),
    "sst2 header": (read_sst2_tsv, f"{HUGE}\n", "expected the header 'sentence<TAB>label'"),
    "sst2 row": (read_sst2_tsv, f"sentence\tlabel\n{HUGE}\n", "expected 2 tab-separated fields"),
    "sst2 label": (read_sst2_tsv, f"sentence\tlabel\ngood\t{HUGE}\n", "expected the label 0 or 1"),
    "tweets header": (read_tweets_csv, f"{HUGE_CSV}\n", "expected a header whose last column is 'tweet_text'"),
    "tweets row": (read_tweets_csv, f"{TWEETS_HEADER}{HUGE_CSV}\r\n", "expected 7 comma-separated fields"),
    "quora": (read_quora_tsv, f"1\ta\tb\t1\n{HUGE}\n", "expected 4 tab-separated fields"),
    "quora label": (read_quora_tsv, f"1\ta\tb\t1\n{HUGE}\ta\tb\t2\n", "expected a label 0 or 1"),
    "mrpc header": (read_mrpc, f"{HUGE}\n", "expected the header"),
    "sick score": (read_sick, None, "expected a score from 1 to 5"),
    "stsb": (read_stsb, f"{HUGE}\n", "expected 7 to 9 tab-separated fields"),
    "word vectors": (lambda path: read_word_vectors(path, ["a"]), f"{HUGE}\n", "expected a word followed by its vector's numbers"),
}


@pytest.mark.parametrize("name", sorted(LONG_LINES))
def test_a_huge_line_is_cut_in_the_message(tmp_path, name):
    reader, text, fragment = LONG_LINES[name]
    if text is None:  # SICK: 12 columns, the score 5th
        from pipelines.readers.sick import HEADER

        text = "\t".join(HEADER) + "\n" + "\t".join(["1", "a", "b", "NEUTRAL", HUGE] + ["x"] * 7) + "\n"
    path = tmp_path / "data"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        reader(path)
    message = str(caught.value)
    assert fragment in message
    assert len(message) < 400, message[:400]
    assert "more characters)" in message
