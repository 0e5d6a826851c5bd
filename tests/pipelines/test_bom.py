"""Every text format reads a file that starts with a UTF-8 byte-order mark exactly as one without it."""

import gzip

import pytest

from pipelines.errors import DataError
from pipelines.language_model import read_text
from pipelines.ngram import read_corpus
from pipelines.readers import read_conll, read_gmb_csv, read_lines, read_token_tag
from pipelines.readers.mrpc import read_mrpc
from pipelines.readers.quora_tsv import read_quora_tsv
from pipelines.readers.sick import HEADER as SICK_HEADER
from pipelines.readers.sick import read_sick
from pipelines.readers.sst2_tsv import read_sst2_tsv
from pipelines.readers.stsb import read_stsb
from pipelines.readers.tweets_csv import read_tweets_csv
from pipelines.word_vectors import read_word_vectors
from tests.helpers import TWEETS_HEADER

BOM = "\ufeff"
SICK_ROW = "1\tA man sings\tA man is singing\tENTAILMENT\t4.5\tA_entails_B\tB_entails_A\ta\tb\tc\td\tTRAIN"
# (reader, file text): the first token, header or label sits right after where a BOM would go.
FORMATS = {
    "conll2003": (read_conll, "-DOCSTART- -X- O O\n\nLi NNP I-NP I-PER\nflew VBD I-VP O\n"),
    "conll2003 without DOCSTART": (read_conll, "Li NNP I-NP I-PER\nflew VBD I-VP O\n"),
    "gmb": (read_gmb_csv, "Sentence #,Word,POS,Tag\nSentence: 1,Li,NNP,B-per\n,flew,VBD,O\n"),
    "tsv": (read_token_tag, "Li\tB-PER\nflew\tO\n"),
    "sst2": (read_sst2_tsv, "sentence\tlabel\na fine film \t1\n"),
    "tweets": (read_tweets_csv, TWEETS_HEADER + '1,Fri,u,1,en,,"good :)"\r\n'),
    "quora": (read_quora_tsv, "1\tHow do I learn ?\tWhat is the way to learn ?\t7\n"),
    "mrpc": (read_mrpc, "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tHe came .\tHe arrived .\n"),
    "sick": (read_sick, "\t".join(SICK_HEADER) + "\n" + SICK_ROW + "\n"),
    "stsb": (read_stsb, "main\tfile\t2012\t0001\t5.000\tA plane takes off .\tAn air plane is taking off .\n"),
    "text": (read_text, "Li flew home\n"),
    "ngram corpus": (read_corpus, "Li flew home\n"),
    "word vectors": (lambda path: {w: v.tolist() for w, v in read_word_vectors(path, ["Li"], first=2).vectors.items()},
                     "Li 0.5 1.5\nflew 1 2\n"),
}


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_bom_is_dropped(tmp_path, name, gz):
    reader, text = FORMATS[name]
    opener = gzip.open if gz else open
    plain, marked = tmp_path / "plain", tmp_path / "marked"
    for path, data in ((plain, text), (marked, BOM + text)):
        with opener(path, "wb") as f:
            f.write(data.encode("utf-8"))
    assert reader(marked) == reader(plain)
    assert BOM not in repr(reader(marked))


def test_read_lines_drops_only_a_leading_bom(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes((BOM + "one\n" + BOM + "two\n").encode("utf-8"))
    assert list(read_lines(path)) == [(1, "one"), (2, BOM + "two")]


def test_read_lines_drops_a_utf8_bom_in_a_latin1_file(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(BOM.encode("utf-8") + "Caf\xe9\n".encode("latin1"))
    assert list(read_lines(path, "latin1")) == [(1, "Caf\xe9")]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_read_lines_refuses_utf16(tmp_path, encoding):
    path = tmp_path / "a.txt"
    path.write_bytes((BOM + "Li\tB-PER\n").encode(encoding))
    with pytest.raises(DataError, match=r"a\.txt:1: the file is UTF-16 .*expected UTF-8"):
        list(read_lines(path))
