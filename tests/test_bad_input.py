"""Bad input, format by format: each case is a data spec with its files and the message it must give.

Every case must raise `DataError` (which `zoo` prints as one `zoo: error: ...` line and exit 2)
whose message holds the expected fragment, names the file, and fits on one short line.
`test_every_format_has_cases` fails when a data format is added without cases here.
"""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

from pipelines.errors import DataError
from pipelines.images import IMAGE_FORMATS, read_images
from pipelines.language_model import read_text
from pipelines.pairs import PAIR_FORMATS, read_pairs
from pipelines.readers import FORMATS as TAGGED_FORMATS
from pipelines.readers import read_tagged
from pipelines.sentiment import FORMATS as SENTIMENT_FORMATS
from pipelines.sentiment import read_sentiment
from pipelines.readers.seq2seq_formats import CAPTION_FORMATS, TRANSLATION_FORMATS
from tests.helpers import TOPICS, TWEETS_HEADER, paraphrases
from zoo.tasks.seq2seq.data import read_captioned_images, read_translation_pairs

EXIT_USER_ERROR = 2  # what zoo.cli.main returns for a DataError


def _read_text_spec(spec: str):
    kind, _, path = spec.partition(":")
    assert kind == "text"
    return read_text(path)


# Each format's public reading entry point, taking the whole `FORMAT:PATH` spec.
READERS = {
    **{name: read_tagged for name in TAGGED_FORMATS},
    **{name: read_sentiment for name in SENTIMENT_FORMATS},
    **{name: read_pairs for name in PAIR_FORMATS},
    **{name: read_images for name in IMAGE_FORMATS},
    **{name: read_translation_pairs for name in TRANSLATION_FORMATS},
    **{name: read_captioned_images for name in CAPTION_FORMATS},
    "text": _read_text_spec,
}

BOM = "\ufeff".encode()
HUGE = b"x" * 200_000
SICK_HEADER = ("pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\tentailment_AB\tentailment_BA\t"
               "sentence_A_original\tsentence_B_original\tsentence_A_dataset\tsentence_B_dataset\tSemEval_set\n")
MRPC_HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _pickle(obj) -> bytes:
    return pickle.dumps(obj)


# (format, spec after "FORMAT:" with {d} for the case's folder, {path: bytes} to write there, message fragment)
CASES = [
    # conll2003
    ("conll2003", "{d}/missing.txt", {}, "missing.txt: file not found"),
    ("conll2003", "{d}/a.txt", {"a.txt": b""}, "a.txt: file is empty"),
    ("conll2003", "{d}/a.txt", {"a.txt": b"EU NNP I-ORG\n"}, "a.txt:1: expected 4 space-separated columns"),
    ("conll2003", "{d}/a.txt", {"a.txt": b"EU NNP I-NP ORG\n"}, "a.txt:1: expected a tag 'O' or B-/I-/E-/S-"),
    ("conll2003", "{d}/a.txt", {"a.txt": b"EU NNP I-NP \xff\n"}, "a.txt:1: cannot decode bytes as utf-8"),
    ("conll2003", "{d}/a.txt", {"a.txt": b"-DOCSTART- -X- O O\n\n"}, "expected at least one sentence"),
    ("conll2003", "{d}/a.txt.gz", {"a.txt.gz": b"EU NNP I-NP I-ORG\n"}, "expected gzip data (the name ends in .gz)"),
    ("conll2003", "{d}/a.txt", {"a.txt": "EU NNP I-NP I-ORG\n".encode("utf-16")}, "a.txt:1: the file is UTF-16"),
    ("conll2003", "{d}/a.txt", {"a.txt": b"EU NNP I-NP I-ORG\n" + HUGE + b"\n"}, "more characters)"),
    # gmb
    ("gmb", "{d}/g.csv", {"g.csv": b"Sentence,Word,POS,Tag\n"}, "g.csv:1: expected the header 'Sentence #,Word,POS,Tag'"),
    ("gmb", "{d}/g.csv", {"g.csv": b"Sentence #,Word,POS,Tag\n,Li,NNP,B-per\n"}, "g.csv:2: expected a sentence id"),
    ("gmb", "{d}/g.csv", {"g.csv": b"Sentence #,Word,POS,Tag\nSentence: 1,Li,NNP\n"}, "expected 4 comma-separated"),
    ("gmb", "{d}/g.csv", {"g.csv": b"Sentence #,Word,POS,Tag\nSentence: 1,Li,NNP,I-per\n"}, "g.csv:2: expected 'B-per'"),
    ("gmb", "{d}/g.csv", {"g.csv": b"Sentence #,Word,POS,Tag\n"}, "expected at least one sentence"),
    # tsv
    ("tsv", "{d}/t.tsv", {"t.tsv": b"Li B-PER\n"}, "t.tsv:1: expected 2 tab-separated columns (token, tag), got 1"),
    ("tsv", "{d}/t.tsv", {"t.tsv": b"Li\tB-PER\nflew\tI-LOC\n"}, "t.tsv:2: expected 'B-LOC' or 'I-LOC' before"),
    ("tsv", "{d}/t.tsv", {"t.tsv": b"\n\n"}, "expected at least one sentence ('token<TAB>tag' lines), got none"),
    ("tsv", "{d}", {"x": b""}, "expected a file, got a directory"),
    # text
    ("text", "{d}/missing.txt", {}, "missing.txt: file not found"),
    ("text", "{d}/c.txt", {"c.txt": b""}, "c.txt: file is empty"),
    ("text", "{d}/c.txt", {"c.txt": b"fine\nbad \xe9 byte\n"}, "c.txt:2: cannot decode bytes as utf-8"),
    ("text", "{d}/c.txt.gz", {"c.txt.gz": gzip.compress(b"fine\n" * 100)[:-20]}, "c.txt.gz:"),
    # tweets
    ("tweets", "{d}/p.csv", {"p.csv": b""}, "expected 'tweets:POS_PATH,NEG_PATH'"),
    ("tweets", "{d}/p.csv,{d}/n.csv", {"p.csv": b"id,text\n1,hi\n", "n.csv": b""}, "p.csv:1: expected a header whose last column"),
    ("tweets", "{d}/p.csv,{d}/n.csv", {"p.csv": TWEETS_HEADER.encode() + b"1,2\r\n", "n.csv": b""}, "p.csv:2: expected 7"),
    ("tweets", "{d}/p.csv,{d}/n.csv", {"p.csv": TWEETS_HEADER.encode() + b'1,2,3,4,5,6,"open\r\n', "n.csv": b""},
     "p.csv:2: cannot parse the CSV row"),
    ("tweets", "{d}/p.csv,{d}/n.csv", {"p.csv": TWEETS_HEADER.encode(), "n.csv": b""}, "p.csv: no tweets after the header"),
    # sst2
    ("sst2", "{d}/s.tsv", {"s.tsv": b"text\tlabel\n"}, "s.tsv:1: expected the header 'sentence<TAB>label'"),
    ("sst2", "{d}/s.tsv", {"s.tsv": b"sentence\tlabel\ngood\t2\n"}, "s.tsv:2: expected the label 0 or 1, got '2'"),
    ("sst2", "{d}/s.tsv", {"s.tsv": b"sentence\tlabel\n \t1\n"}, "s.tsv:2: the sentence is empty"),
    ("sst2", "{d}/s.tsv", {"s.tsv": b"sentence\tlabel\n"}, "s.tsv: no sentences after the header"),
    ("sst2", "{d}/s.tsv", {"s.tsv": b"sentence\tlabel\ngood\n"}, "s.tsv:2: expected 2 tab-separated fields"),
    # quora
    ("quora", "{d}/q.tsv", {"q.tsv": b"1\ta\tb\n"}, "q.tsv:1: expected 4 tab-separated fields"),
    ("quora", "{d}/q.tsv", {"q.tsv": b"yes\ta\tb\t1\n"}, "q.tsv:1: expected a label 0 or 1 in column is_duplicate"),
    ("quora", "{d}/q.tsv", {"q.tsv": b"1\t \tb\t1\n"}, "q.tsv:1: expected text in column question1"),
    ("quora", "{d}/q.tsv", {"q.tsv": b"\n\n"}, "q.tsv: expected at least one pair"),
    # mrpc
    ("mrpc", "{d}/m.txt", {"m.txt": b"Quality\tID\n"}, "m.txt:1: expected the header"),
    ("mrpc", "{d}/m.txt", {"m.txt": MRPC_HEADER.encode() + b"2\t1\t2\ta\tb\n"}, "m.txt:2: expected a label 0 or 1"),
    ("mrpc", "{d}/m.txt", {"m.txt": BOM + MRPC_HEADER.encode()}, "m.txt: expected at least one pair"),
    # sick
    ("sick", "{d}/s.txt", {"s.txt": b"pair_ID\n"}, "s.txt:1: expected the header"),
    ("sick", "{d}/s.txt", {"s.txt": (SICK_HEADER + "1\ta\tb\tMAYBE\t3\tx\tx\tx\tx\tx\tx\tx\n").encode()},
     "s.txt:2: expected an entailment_label in ['NEUTRAL', 'ENTAILMENT', 'CONTRADICTION'], got 'MAYBE'"),
    ("sick", "{d}/s.txt", {"s.txt": (SICK_HEADER + "1\ta\tb\tNEUTRAL\t7\tx\tx\tx\tx\tx\tx\tx\n").encode()},
     "s.txt:2: expected a score from 1 to 5 in column relatedness_score, got '7'"),
    # stsb
    ("stsb", "{d}/s.csv", {"s.csv": b"main\tf\t2012\t1\t4.0\tonly one\n"}, "s.csv:1: expected 7 to 9 tab-separated fields"),
    ("stsb", "{d}/s.csv", {"s.csv": b"main\tf\t2012\t1\tfive\ta\tb\n"}, "s.csv:1: expected a score from 0 to 5"),
    # mnist
    ("mnist", "{d}", {}, "train-images-idx3-ubyte: file not found (nor with .gz)"),
    ("mnist", "{d}", {"train-images-idx3-ubyte": b"\x00\x00", "train-labels-idx1-ubyte": b""},
     "train-images-idx3-ubyte: expected an IDX header of at least 4 bytes, got 2 bytes"),
    ("mnist-test", "{d}", {"t10k-images-idx3-ubyte.gz": gzip.compress(_idx(np.zeros((2, 3, 3))))[:-10],
                           "t10k-labels-idx1-ubyte": _idx(np.zeros(2))}, "t10k-images-idx3-ubyte.gz: cannot read gzip data"),
    # idx
    ("idx", "{d}/i", {"i": b""}, "expected 'idx:IMAGES_PATH,LABELS_PATH'"),
    ("idx", "{d}/i,{d}/l", {"i": _idx(np.zeros((2, 3, 3))), "l": _idx(np.zeros(3))}, "expected one label per image (2 in"),
    ("idx", "{d}/i,{d}/l", {"i": _idx(np.zeros((2, 3, 3)))[:-1], "l": _idx(np.zeros(2))}, "the file is truncated or corrupt"),
    ("idx", "{d}/i,{d}/l", {"i": _idx(np.zeros(2)), "l": _idx(np.zeros(2))}, "expected uint8 images of shape (N, H, W)"),
    # cifar10
    ("cifar10", "{d}", {}, "data_batch_1: file not found"),
    ("cifar10", "{d}", {"data_batch_1": b"not a pickle"}, "data_batch_1: cannot read the file as a CIFAR python batch"),
    ("cifar10", "{d}", {"data_batch_1": _pickle([1, 2])}, "data_batch_1: expected a pickled dict, got list"),
    ("cifar10", "{d}", {"data_batch_1": _pickle({b"data": np.zeros((1, 10), np.uint8), b"labels": [0]})},
     "data_batch_1: expected uint8 rows of 3072 values"),
    ("cifar10-test", "{d}", {"test_batch": _pickle({b"labels": [0]})}, "test_batch: expected the keys 'data' and 'labels'"),
    # folder
    ("folder", "{d}/missing", {}, "missing: expected a folder with one subfolder of images per class"),
    ("folder", "{d}", {"a.png": b""}, "expected one subfolder of images per class, found no subfolders"),
    ("folder", "{d}", {"cat/notes.txt": b"x"}, "cat: class folder holds no images"),
    ("folder", "{d}", {"cat/a.png": b"\x89PNG but not really"}, "a.png: not a readable image"),
    # parallel
    ("parallel", "{d}/s.txt", {"s.txt": b"a\n"}, "expected two files 'SOURCE,TARGET' for parallel data"),
    ("parallel", "{d}/s.txt,{d}/t.txt", {"s.txt": b"a b\nc\n", "t.txt": b"x\n"}, "the parallel files differ in length"),
    ("parallel", "{d}/s.txt,{d}/t.txt", {"s.txt": b"a\n\nb\n", "t.txt": b"x\ny\nz\n"}, "s.txt:2: expected a sentence"),
    ("parallel", "{d}/s.txt,{d}/t.txt", {"s.txt": b"", "t.txt": b""}, "s.txt: file is empty"),
    ("parallel", "{d}/s.txt,{d}/t.txt", {"s.txt": b"a\n", "t.txt": b"\xff\n"}, "t.txt:1: cannot decode bytes as utf-8"),
    # tsv-pairs
    ("tsv-pairs", "{d}/p.tsv", {"p.tsv": b"Go.\n"}, "p.tsv:1: expected 2 to 3 tab-separated fields (source, target)"),
    ("tsv-pairs", "{d}/p.tsv", {"p.tsv": b"Go.\t \n"}, "p.tsv:1: expected text in column target"),
    ("tsv-pairs", "{d}/p.tsv", {"p.tsv": b"\n\n"}, "expected 'source<TAB>target[<TAB>attribution]' lines, found none"),
    # flickr8k
    ("flickr8k", "{d}/captions.txt", {"captions.txt": b"image,caption\n"}, "expected an image folder beside it"),
    ("flickr8k", "{d}/captions.txt", {"captions.txt": b"image,caption\nx.jpg,A dog .\n", "images/a.jpg": b""},
     "captions.txt:2: image 'x.jpg' is not in the folder"),
    ("flickr8k", "{d}/t.txt", {"t.txt": b"a.jpg A dog .\n", "images/a.jpg": b""}, "t.txt:1: expected 'IMAGE#N<TAB>caption'"),
    ("flickr8k", "{d}/captions.txt", {"captions.txt": b"image,caption\na.jpg, \n", "images/a.jpg": b""},
     "captions.txt:2: expected a caption for 'a.jpg'"),
]


@pytest.mark.parametrize("fmt, spec, files, fragment", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_gives_one_located_line(tmp_path, fmt, spec, files, fragment):
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError) as caught:
        READERS[fmt](f"{fmt}:" + spec.format(d=tmp_path))
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message and len(message) < 400 + len(str(tmp_path)) * 2
    assert "Traceback" not in message


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_every_format_has_cases(fmt):
    assert sum(case[0] == fmt for case in CASES) >= (1 if fmt.endswith("-test") else 2), (
        f"add bad-input cases for the {fmt!r} format to tests/test_bad_input.py")


@pytest.mark.parametrize("reader, spec, fragment", [
    (read_tagged, "csv:x", "expected a format in 'csv:x' among 'conll2003', 'gmb', 'tsv', got 'csv'"),
    (read_tagged, "conll2003", "expected a data spec 'FORMAT:PATH'"),
    (read_sentiment, "tweets/valid:a,b", "expected a split of 'tweets' among ['train', 'dev', 'test'], got 'valid'"),
    (read_sentiment, "imdb:x", "expected a format in 'imdb:x' among 'tweets', 'sst2', got 'imdb'"),
    (read_pairs, "snli:x", "expected a pair format in 'snli:x' among"),
    (read_images, "png:x", "expected an image data spec 'FORMAT:PATH' with FORMAT one of"),
    (read_translation_pairs, "wmt:x", "expected a translation format in 'wmt:x' among 'parallel', 'tsv-pairs'"),
    (read_captioned_images, "coco:x", "expected a caption format in 'coco:x' among 'flickr8k'"),
])
def test_bad_specs_name_the_formats(reader, spec, fragment):
    with pytest.raises(DataError, match=None) as caught:
        reader(spec)
    assert fragment in str(caught.value)


def test_data_errors_are_what_the_cli_turns_into_exit_2(tmp_path, capsys):
    from zoo.cli import main

    assert main(["train", "bilstm_ner", "--data", f"tsv:{tmp_path}/none.tsv"]) == EXIT_USER_ERROR
    assert capsys.readouterr().err == f"zoo: error: {tmp_path}/none.tsv: file not found\n"


# ----------------------------------------------------------------------------- the command line

# (argv with {d} for the case's folder, {path: bytes} to write there, message fragment): `zoo ARGV` must exit 2
# with one line `zoo: error: ...` holding the fragment. Rows run before any training or export loading.
CLI_CASES = [
    (["list", "--bogus"], {}, "unrecognized arguments: --bogus"),
    (["info", "no_such_model"], {}, "Unknown model name. Received: name='no_such_model'"),
    (["info", "bilstm_ner", "--preset", "huge"], {}, "unknown preset 'huge' for 'bilstm_ner'; presets: ["),
    (["train", "bilstm_ner", "--data", "tsv:x", "--epochs", "0"], {}, "argument --epochs: expected an integer >= 1, got 0"),
    (["train", "bilstm_ner", "--data", "tsv:x", "--batch-size", "-3"], {}, "argument --batch-size: expected an integer >= 1, got -3"),
    (["train", "bilstm_ner", "--data", "tsv:x", "--epochs", "many"], {}, "argument --epochs: expected an integer >= 1, got 'many'"),
    (["train", "siamese_bow", "--data", "quora:x", "--members", "0"], {}, "argument --members: expected an integer >= 1, got 0"),
    (["train", "bilstm_crf_ner", "--data", "tsv:x", "--singleton-unk", "1.5"], {},
     "argument --singleton-unk: expected a probability in [0, 1], got 1.5"),
    (["train", "bilstm_crf_ner", "--data", "tsv:x", "--ema", "1.5"], {},
     "argument --ema: expected a probability in [0, 1], got 1.5"),
    (["train", "bilstm_crf_ner", "--data", "tsv:x", "--momentum", "2"], {},
     "argument --momentum: expected a probability in [0, 1], got 2.0"),
    (["train", "siamese_bow", "--data", "quora:{d}/q.tsv", "--word-vectors", "{d}/missing.txt"],
     {"q.tsv": "".join(f"{p.label}\t{p.text_a}\t{p.text_b}\t{i}\n" for i, p in enumerate(paraphrases(TOPICS))).encode()},
     "missing.txt: file not found"),
    (["train", "sentiment_dnn", "--data", "tweets:x,y", "--refit"], {},
     "--refit is for NER and Siamese models: 'sentiment_dnn' is a 'sentiment' model"),
    (["train", "bilstm_crf_ner", "--data", "tsv:x", "--refit", "--strategy", "multiworker"], {},
     "--refit works with --strategy none or mirrored"),
    # Config checks come before the data is read: the data file does not exist.
    (["train", "bilstm_ner", "--data", "tsv:{d}/none.tsv", "--preset", "huge"], {}, "unknown preset 'huge' for 'bilstm_ner'"),
    (["train", "bilstm_ner", "--data", "tsv:{d}/none.tsv", "--set", "lstm_unit=8"], {}, "did you mean 'lstm_units'?"),
    (["train", "bilstm_ner", "--data", "tsv:{d}/none.tsv", "--set", "lstm_units=abc"], {}, "lstm_units='abc'; expected an integer"),
    (["train", "rnn_lm", "--data", "text:{d}/none.txt", "--set", "window=8", "--set", "lstm=1"], {}, "unknown config key 'lstm'"),
    (["tune", "bilstm_ner", "--data", "tsv:x", "--max-trials", "0"], {}, "argument --max-trials: expected an integer >= 1, got 0"),
    (["tune", "bilstm_ner", "--data", "tsv:x", "--max-epochs", "-1"], {}, "argument --max-epochs: expected an integer >= 1, got -1"),
    (["evaluate", "{d}/none", "--data", "tsv:x"], {}, "none: no such export"),
    (["predict", "{d}/none", "Sharon \udcff\udcfe flew"], {}, "expected UTF-8 text, got the bytes b'\\xff\\xfe' at character 8"),
    (["predict", "{d}/none", "Sharon flew"], {}, "none: no such export"),
    (["rest", "{d}/none", "{d}/missing.json"], {}, "missing.json: cannot read the request body (No such file"),
    (["rest", "{d}/none", "{d}/r.json"], {"r.json": b'{"instances": ["\xff"]}'},
     "r.json: expected a UTF-8 JSON request body, got the byte b'\\xff' at byte 17"),
    (["quickstart", "--epochs", "0"], {}, "argument --epochs: expected an integer >= 1, got 0"),
    (["ngram", "fit", "--data", "text:x", "--order", "0"], {}, "argument --order: expected an integer >= 1, got 0"),
    (["ngram", "score", "{d}/none", "a \udcff"], {}, "argument inputs: expected UTF-8 text, got the bytes b'\\xff'"),
    (["serving-config", "{d}", "--out", "{d}/out", "--max-batch-size", "0"], {},
     "argument --max-batch-size: expected an integer >= 1, got 0"),
]


def _exit_status(argv: list[str]) -> int:
    from zoo.cli import main

    try:
        return main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        return exit_.code


@pytest.mark.parametrize("argv, files, fragment", CLI_CASES, ids=[f"{c[0][0]}-{i}" for i, c in enumerate(CLI_CASES)])
def test_bad_command_lines_give_one_line_and_exit_2(tmp_path, capsys, argv, files, fragment):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert _exit_status([arg.format(d=tmp_path) for arg in argv]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert fragment in err, err


def test_every_subcommand_has_bad_input_rows():
    from zoo.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    missing = sorted(set(commands) - {case[0][0] for case in CLI_CASES})
    assert not missing, f"add bad-input rows for `zoo {missing[0]}` to CLI_CASES in tests/test_bad_input.py"
