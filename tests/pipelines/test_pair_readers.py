"""Pair-file readers (Quora TSV, MRPC, SICK, STS-B) on tiny files in tmp_path, and on the real files when present."""

from pathlib import Path

import pytest

from pipelines.errors import DataError
from pipelines.pairs import PAIR_FORMATS, read_pairs
from pipelines.readers.mrpc import read_mrpc
from pipelines.readers.pair import Pair
from pipelines.readers.quora_tsv import read_quora_tsv
from pipelines.readers.sick import read_sick
from pipelines.readers.stsb import read_stsb
from tests.helpers import write_text as write

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"

QUORA = ("1\tHow can I stop my depression ?\tWhat can I do to stop being depressed ?\t339556\n"
         "0\tIs honey a viable alternative to sugar ?\tHow would you compare laws ?\t90348\n")
MRPC = ("\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
        '1\t702876\t702977\tAmrozi accused his brother , whom he called " the witness " .\tReferring to him as " the witness " .\n'
        "0\t2108705\t2108831\tYucaipa owned Dominick 's .\tYucaipa bought Dominick 's in 1995 .\n")
SICK_HEADER = ("pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\tentailment_AB\tentailment_BA\t"
               "sentence_A_original\tsentence_B_original\tsentence_A_dataset\tsentence_B_dataset\tSemEval_set")
SICK = (SICK_HEADER + "\r\n"
        "1\tA group of kids is playing\tA group of boys is playing\tNEUTRAL\t4.5\tA_neutral_B\tB_neutral_A\tx\ty\tFLICKR\tFLICKR\tTRAIN\r\n")
STSB = ("main-captions\tMSRvid\t2012test\t0001\t5.000\tA plane is taking off.\tAn air plane is taking off.\n"
        "main-news\theadlines\t2016\t0012\t4\tDriver backs into stroller\tDriver backs into mom\tEMM\tEMM\n")


def test_quora_reader_returns_labelled_pairs_and_reads_gzip(tmp_path):
    pairs = read_quora_tsv(write(tmp_path, "q.tsv.gz", QUORA, compress=True))
    assert pairs == [
        Pair("How can I stop my depression ?", "What can I do to stop being depressed ?", label=1, id="339556"),
        Pair("Is honey a viable alternative to sugar ?", "How would you compare laws ?", label=0, id="90348"),
    ]


def test_mrpc_reader_drops_the_bom_and_keeps_bare_quotes(tmp_path):
    pairs = read_mrpc(write(tmp_path, "mrpc.txt", MRPC))
    assert [p.label for p in pairs] == [1, 0]
    assert pairs[0].text_a == 'Amrozi accused his brother , whom he called " the witness " .'
    assert pairs[0].id == "702876-702977"


def test_sick_reader_returns_relatedness_scores_from_crlf_lines(tmp_path):
    (pair,) = read_sick(write(tmp_path, "SICK_train.txt", SICK))
    assert pair == Pair("A group of kids is playing", "A group of boys is playing", score=4.5, id="1")


def test_stsb_reader_takes_score_and_sentences_and_ignores_extra_fields(tmp_path):
    pairs = read_stsb(write(tmp_path, "sts-train.csv", STSB))
    assert [(p.text_a, p.score) for p in pairs] == [("A plane is taking off.", 5.0), ("Driver backs into stroller", 4.0)]
    assert pairs[1].id == "main-news/headlines/2016/0012"


def test_read_pairs_dispatches_on_the_format(tmp_path):
    path = write(tmp_path, "q.tsv", QUORA)
    assert read_pairs(f"quora:{path}") == read_quora_tsv(path)
    assert sorted(PAIR_FORMATS) == ["mrpc", "quora", "sick", "stsb"]
    with pytest.raises(DataError, match="expected a pair format in 'csv:x' among 'quora', 'mrpc', 'sick', 'stsb', got 'csv'"):
        read_pairs("csv:x")
    with pytest.raises(DataError, match="expected a pair-data spec 'FORMAT:PATH'"):
        read_pairs("quora")


@pytest.mark.parametrize("reader, name, text, message", [
    (read_quora_tsv, "q.tsv", "1\tHow ?\tWhy ?\n",
     "q.tsv:1: expected 4 tab-separated fields (is_duplicate, question1, question2, id), got 3: '1\\tHow ?\\tWhy ?'"),
    (read_quora_tsv, "q.tsv", QUORA + "2\tHow ?\tWhy ?\t7\n", "q.tsv:3: expected a label 0 or 1 in column is_duplicate, got '2'"),
    (read_quora_tsv, "q.tsv", "1\t \tWhy ?\t7\n", "q.tsv:1: expected text in column question1, got an empty field"),
    (read_quora_tsv, "q.tsv", "\n\n", "q.tsv: expected at least one pair"),
    (read_mrpc, "m.txt", "Quality\t#1 ID\n", "m.txt:1: expected the header 'Quality\\t#1 ID\\t#2 ID\\t#1 String\\t#2 String'"),
    (read_mrpc, "m.txt", MRPC + "yes\t1\t2\ta\tb\n", "m.txt:4: expected a label 0 or 1 in column Quality, got 'yes'"),
    (read_mrpc, "m.txt", MRPC + "1\t1\t2\ta\n", "m.txt:4: expected 5 tab-separated fields"),
    (read_sick, "s.txt", SICK.replace("\t4.5\t", "\t6\t"), "s.txt:2: expected a score from 1 to 5 in column relatedness_score, got '6'"),
    (read_sick, "s.txt", SICK.replace("NEUTRAL\t", "MAYBE\t"), "s.txt:2: expected an entailment_label in"),
    (read_stsb, "t.csv", "a\tb\tc\td\t3.0\tonly one sentence\n", "t.csv:1: expected 7 to 9 tab-separated fields"),
    (read_stsb, "t.csv", STSB.replace("5.000", "high"), "t.csv:1: expected a score from 0 to 5 in column score, got 'high'"),
])
def test_bad_lines_name_file_line_expected_and_found(tmp_path, reader, name, text, message):
    with pytest.raises(DataError) as info:
        reader(write(tmp_path, name, text))
    assert message in str(info.value)


@pytest.mark.skipif(not DATASETS.exists(), reason="shared datasets not present")
@pytest.mark.parametrize("spec, count, positives", [
    ("quora:quora_bimpm/dev.tsv.gz", 10000, 5000),
    ("mrpc:mrpc/msr_paraphrase_train.txt.gz", 4076, 2753),
    ("sick:sick/SICK_trial.txt.gz", 495, None),
    ("stsb:stsb/sts-dev.csv.gz", 1500, None),
])
def test_real_files(spec, count, positives):
    name, _, path = spec.partition(":")
    pairs = read_pairs(f"{name}:{DATASETS / path}")
    assert len(pairs) == count
    if positives is not None:
        assert sum(p.label for p in pairs) == positives
    else:
        assert all(p.label is None and p.score is not None for p in pairs)
