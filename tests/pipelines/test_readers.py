"""Tests for pipelines.readers on small files in tmp_path, and on the real datasets when present."""

import gzip
from pathlib import Path

import pytest

from pipelines.errors import DataError
from pipelines.readers import (
    FORMATS,
    TaggedSentence,
    read_conll,
    read_gmb_csv,
    read_lines,
    read_tagged,
    read_token_tag,
    write_token_tag,
)
from pipelines.tags import entity_types

BAD_TAG = "expected a tag 'O' or B-/I-/E-/S- followed by a type (e.g. 'B-PER'), got"
KNOWN = "'conll2003', 'gmb', 'tsv'"
SPEC = f"expected a data spec 'FORMAT:PATH' with FORMAT one of {KNOWN},"
SAME_LENGTH = "expected as many tags as tokens (at least 1)"
NOT_IOB2 = "expected 'B-x' or 'I-x' before 'I-x' (strict iob2), got 'O'"

CONLL = """\
-DOCSTART- -X- O O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER
-DOCSTART- -X- O O
Paris NNP I-NP I-LOC
Berlin NNP I-NP B-LOC
"""
CONLL_SENTENCES = [
    TaggedSentence(("EU", "rejects", "German", "call", "."), ("B-ORG", "O", "B-MISC", "O", "O")),
    TaggedSentence(("Peter", "Blackburn"), ("B-PER", "I-PER")),
    TaggedSentence(("Paris", "Berlin"), ("B-LOC", "B-LOC")),
]

GMB = (
    "Sentence #,Word,POS,Tag\r\n"
    "Sentence: 1,Thousands,NNS,O\r\n"
    ",of,IN,O\r\n"
    ',"10,000",CD,O\r\n'
    ",Caf\xe9,NNP,B-org\r\n"
    ",Noir,NNP,I-org\r\n"
    "Sentence: 2,Iranian,JJ,B-gpe\r\n"
    ',"""",``,O\r\n'
)
GMB_SENTENCES = [
    TaggedSentence(
        ("Thousands", "of", "10,000", "Caf\xe9", "Noir"), ("O", "O", "O", "B-org", "I-org")
    ),
    TaggedSentence(("Iranian", '"'), ("B-gpe", "O")),
]


def write(path: Path, text: str, *, encoding: str = "utf-8", gz: bool = False) -> Path:
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def lines_error(path) -> str:
    return error(lambda p: list(read_lines(p)), path)


def error(read, path, **kwargs) -> str:
    """The message of the DataError that `read(path)` raises; it must locate the file."""
    with pytest.raises(DataError) as info:
        read(path, **kwargs)
    assert info.value.path == str(path)
    return str(info.value)


# read_lines


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_read_lines_plain_and_gzip(tmp_path, gz, newline):
    path = write(tmp_path / "a.txt", newline.join(["one", "", "thr\xe9e"]), gz=gz)
    assert list(read_lines(path)) == [(1, "one"), (2, ""), (3, "thr\xe9e")]


def test_read_lines_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    assert lines_error(path) == f"{path}: file not found"


@pytest.mark.parametrize("gz", [False, True])
def test_read_lines_empty_file(tmp_path, gz):
    path = write(tmp_path / "empty.gz" if gz else tmp_path / "empty", "", gz=gz)
    assert lines_error(path) == f"{path}: file is empty"


def test_read_lines_gz_name_without_gzip_data(tmp_path):
    path = write(tmp_path / "plain.gz", "hello\n")
    assert lines_error(path) == f"{path}: expected gzip data (the name ends in .gz), got b'he'"


def test_read_lines_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    data = gzip.compress("".join(f"line {i}\n" for i in range(10_000)).encode())
    path.write_bytes(data[: len(data) // 2])
    assert "cannot read gzip data" in lines_error(path)


# CoNLL-2003


@pytest.mark.parametrize("gz", [False, True])
def test_conll_docstart_blank_lines_and_iob1(tmp_path, gz):
    path = write(tmp_path / "eng.train", CONLL, gz=gz)
    assert read_conll(path) == CONLL_SENTENCES


def test_conll_crlf(tmp_path):
    path = write(tmp_path / "eng.train", CONLL.replace("\n", "\r\n"))
    assert read_conll(path) == CONLL_SENTENCES


def test_conll_wrong_column_count(tmp_path):
    path = write(tmp_path / "eng.train", "-DOCSTART- -X- O O\n\nEU NNP I-ORG\n")
    assert error(read_conll, path) == (
        f"{path}:3: expected 4 space-separated columns (word POS chunk NER), got 3: 'EU NNP I-ORG'"
    )


def test_conll_malformed_tag(tmp_path):
    path = write(tmp_path / "eng.train", "EU NNP I-NP I-ORG\nrejects VBZ I-VP 0\n")
    assert error(read_conll, path) == f"{path}:2: {BAD_TAG} '0'"


def test_conll_iob2_violation_reports_line_of_bad_tag(tmp_path):
    path = write(tmp_path / "eng.train", "a X X B-x\nb X X O\n\nc X X O\nd X X I-x\n")
    assert read_conll(path, scheme="iob1")[1].tags == ("O", "B-x")
    assert error(read_conll, path, scheme="iob2") == f"{path}:5: {NOT_IOB2}"


def test_conll_iobes(tmp_path):
    path = write(tmp_path / "eng.train", "a X X B-PER\nb X X E-PER\nc X X S-LOC\n")
    assert read_conll(path, scheme="iobes")[0].tags == ("B-PER", "I-PER", "B-LOC")


def test_conll_unknown_scheme():
    with pytest.raises(ValueError, match="Received: scheme='bio'"):
        read_conll("unused", scheme="bio")


def test_conll_without_sentences(tmp_path):
    path = write(tmp_path / "eng.train", "-DOCSTART- -X- O O\n\n")
    assert error(read_conll, path) == (
        f"{path}: expected at least one sentence ('word POS chunk NER' lines), got none"
    )


def test_conll_undecodable_utf8(tmp_path):
    path = tmp_path / "eng.train"
    path.write_bytes(b"EU NNP I-NP I-ORG\nCaf\xe9 NNP I-NP O\n")
    assert error(read_conll, path) == (
        f"{path}:2: cannot decode bytes as utf-8: b'\\xe9' at byte 4 of the line "
        "(invalid continuation byte)"
    )
    assert read_conll(path, encoding="latin1")[0].tokens == ("EU", "Caf\xe9")


# GMB ner_dataset.csv


@pytest.mark.parametrize("gz", [False, True])
def test_gmb_forward_fill_quoted_commas_and_latin1(tmp_path, gz):
    path = write(tmp_path / "ner_dataset.csv", GMB, encoding="latin1", gz=gz)
    assert read_gmb_csv(path) == GMB_SENTENCES


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Sentence,Word,POS,Tag\r\n",
            ":1: expected the header 'Sentence #,Word,POS,Tag', got 'Sentence,Word,POS,Tag'",
        ),
        (
            "Sentence #,Word,POS,Tag\r\nSentence: 1,a,DT,O\r\n,b,O\r\n",
            ":3: expected 4 comma-separated fields (Sentence #, Word, POS, Tag), "
            "got 3: ['', 'b', 'O']",
        ),
        (
            "Sentence #,Word,POS,Tag\r\n,a,DT,O\r\n",
            ":2: expected a sentence id such as 'Sentence: 1' in the first field of the "
            "first data row, got ['', 'a', 'DT', 'O']",
        ),
        (
            "Sentence #,Word,POS,Tag\r\nSentence: 1,a,DT,O\r\n,b,NN,B_x\r\n",
            f":3: {BAD_TAG} 'B_x'",
        ),
        ("Sentence #,Word,POS,Tag\r\nSentence: 1,a,DT,O\r\n,b,NN,I-x\r\n", f":3: {NOT_IOB2}"),
        (
            "Sentence #,Word,POS,Tag\r\n",
            ": expected at least one sentence (rows after the header 'Sentence #,Word,POS,Tag'), "
            "got none",
        ),
    ],
)
def test_gmb_errors(tmp_path, text, expected):
    path = write(tmp_path / "ner_dataset.csv", text)
    assert error(read_gmb_csv, path) == f"{path}{expected}"


# token<TAB>tag


@pytest.mark.parametrize("name", ["data.tsv", "data.tsv.gz"])
def test_token_tag_round_trip(tmp_path, name):
    sentences = [
        TaggedSentence(("New York", "is", "big"), ("B-geo", "O", "O")),
        TaggedSentence(("Sharon", "flew"), ("B-per", "O")),
    ]
    write_token_tag(tmp_path / name, sentences)
    assert read_token_tag(tmp_path / name) == sentences


def test_token_tag_file_format(tmp_path):
    write_token_tag(tmp_path / "a.tsv", [(["a", "b"], ["B-x", "I-x"]), (["c"], ["O"])])
    assert (tmp_path / "a.tsv").read_text() == "a\tB-x\nb\tI-x\n\nc\tO\n\n"


def test_token_tag_reads_blank_lines_and_crlf(tmp_path):
    path = write(tmp_path / "a.tsv", "\r\na\tB-x\r\n\r\n\r\nb\tO\r\n")
    expected = [TaggedSentence(("a",), ("B-x",)), TaggedSentence(("b",), ("O",))]
    assert read_token_tag(path) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a\tO\nb O\n", ":2: expected 2 tab-separated columns (token, tag), got 1: 'b O'"),
        ("a\tO\tX\n", ":1: expected 2 tab-separated columns (token, tag), got 3: 'a\\tO\\tX'"),
        ("\tO\n", ":1: expected 2 tab-separated columns (token, tag), got 2: '\\tO'"),
        ("a\tB-\n", f":1: {BAD_TAG} 'B-'"),
        ("a\tO\nb\tI-x\n", f":2: {NOT_IOB2}"),
        ("", ": file is empty"),
        ("\n\n", ": expected at least one sentence ('token<TAB>tag' lines), got none"),
    ],
)
def test_token_tag_errors(tmp_path, text, expected):
    path = write(tmp_path / "a.tsv", text)
    assert error(read_token_tag, path) == f"{path}{expected}"


def test_token_tag_iob1_scheme(tmp_path):
    path = write(tmp_path / "a.tsv", "a\tO\nb\tI-x\n")
    assert read_token_tag(path, scheme="iob1")[0].tags == ("O", "B-x")


@pytest.mark.parametrize(
    "sentences, expected",
    [
        ([], "expected at least one sentence to write, got none"),
        ([((), ())], f"sentence 1: {SAME_LENGTH}, got 0 tokens and 0 tags"),
        ([(("a",), ("O", "O"))], f"sentence 1: {SAME_LENGTH}, got 1 tokens and 2 tags"),
        (
            [(("a",), ("O",)), (("a", "b\tc"), ("O", "O"))],
            "sentence 2, token 2: expected a non-empty token without tabs or line breaks, "
            "got 'b\\tc'",
        ),
        ([(("a", "b"), ("O", "I-x"))], f"sentence 1, token 2: {NOT_IOB2}"),
    ],
)
def test_write_token_tag_refuses_what_cannot_be_read_back(tmp_path, sentences, expected):
    with pytest.raises(DataError) as info:
        write_token_tag(tmp_path / "out.tsv", sentences)
    assert str(info.value) == f"<data>: {expected}"
    assert not (tmp_path / "out.tsv").exists()


# FORMAT:PATH specs


def test_read_tagged_dispatches_on_format(tmp_path):
    path = write(tmp_path / "eng.train", CONLL)
    assert read_tagged(f"conll2003:{path}") == CONLL_SENTENCES
    assert set(FORMATS) == {"conll2003", "gmb", "tsv"}


def test_read_tagged_splits_on_first_colon_only(tmp_path):
    path = write(tmp_path / "odd:name.tsv", "a\tO\n")
    assert read_tagged(f"tsv:{path}") == [TaggedSentence(("a",), ("O",))]


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("data.tsv", f"<data>: {SPEC} got 'data.tsv'"),
        ("tsv:", f"<data>: {SPEC} got 'tsv:'"),
        ("csv:a.csv", f"<data>: expected a format in 'csv:a.csv' among {KNOWN}, got 'csv'"),
    ],
)
def test_read_tagged_bad_specs(spec, expected):
    with pytest.raises(DataError) as info:
        read_tagged(spec)
    assert str(info.value) == expected


# The real datasets, when the checkout sits next to ../shared (as in CI).


@pytest.fixture
def shared_datasets() -> Path:
    root = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
    if not root.is_dir():
        pytest.skip(f"real datasets not found at {root}")
    return root


def test_real_conll_testa(shared_datasets):
    sentences = read_conll(shared_datasets / "conll2003" / "eng.testa.gz")
    assert len(sentences) == 3_250
    assert sum(len(sentence.tokens) for sentence in sentences) == 51_362
    assert entity_types(sentence.tags for sentence in sentences) == ["LOC", "MISC", "ORG", "PER"]


def test_real_gmb(shared_datasets):
    sentences = read_gmb_csv(shared_datasets / "gmb_ner" / "ner_dataset.csv.gz")
    assert len(sentences) == 47_959
    assert sum(len(sentence.tokens) for sentence in sentences) == 1_048_575
    assert entity_types(sentence.tags for sentence in sentences) == [
        "art", "eve", "geo", "gpe", "nat", "org", "per", "tim"
    ]
    assert sentences[0].tokens[:3] == ("Thousands", "of", "demonstrators")
