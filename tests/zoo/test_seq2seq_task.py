"""The translation and captioning tasks end to end through `zoo`: train, export, check the export, predict,
evaluate, and the bad inputs a user can give them. Tiny models on tiny synthetic data: the tests check the
plumbing and the contracts, not the quality."""

import base64
import json
import random

import pytest
from PIL import Image

import zoo.cli
from tests.helpers import bars, check_export
from zoo.export import read_card
from zoo.serving import load, rest_predict

# A toy language pair: each word has one translation, word order is kept.
LEXICON = {"sun": "sol", "moon": "luna", "star": "astro", "tree": "arbol", "river": "rio", "stone": "piedra",
           "cloud": "nube", "bird": "pajaro"}
CAPTIONS = {0: ["a bright row", "one row is bright"], 1: ["a bright column", "one column is bright"],
            2: ["a bright diagonal", "the diagonal is bright"]}
# Enough for a small GRU to learn the toy lexicon (about a minute): the translator fixture checks real outputs.
LEARN = ["--epochs", "25", "--patience", "25", "--batch-size", "16", "--learning-rate", "0.01", "--set", "units=32",
         "--set", "embedding_dim=16", "--set", "attention_units=16", "--label-smoothing", "0", "--beam-width", "2",
         "--max-decode-length", "6"]
FAST = ["--preset", "tiny", "--epochs", "2", "--batch-size", "8", "--beam-width", "2", "--max-decode-length", "6",
        "--learning-rate", "0.01"]


def write_parallel(root, *, count: int = 40, seed: int = 0) -> str:
    """`count` pairs of 2-4 toy words and their word-by-word translations; returns the `parallel:` spec."""
    rng = random.Random(seed)
    sources = [" ".join(rng.choice(list(LEXICON)) for _ in range(rng.randint(2, 4))) for _ in range(count)]
    (root / "train.src").write_text("".join(s + "\n" for s in sources), encoding="utf-8")
    (root / "train.tgt").write_text("".join(" ".join(LEXICON[w] for w in s.split()) + "\n" for s in sources),
                                    encoding="utf-8")
    return f"parallel:{root / 'train.src'},{root / 'train.tgt'}"


def write_flickr8k(root, *, count: int, seed: int = 0) -> str:
    """`count` 8x8 bar images (`tests.helpers.bars`) as PNGs in `images/`, two captions each in a Kaggle-style
    `captions.txt`; returns the `flickr8k:` spec."""
    (root / "images").mkdir(parents=True)
    images, labels = bars(count, seed)
    rows = ["image,caption"]
    for i, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(root / "images" / f"{i}.png")
        rows += [f"{i}.png,{caption}" for caption in CAPTIONS[int(label)]]
    (root / "captions.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return f"flickr8k:{root / 'captions.txt'}"


def run(capsys, *argv) -> tuple[int, str, str]:
    status = zoo.cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def export_path(out: str) -> str:
    (line,) = [line for line in out.splitlines() if line.startswith("exported: ")]
    return line.split()[1]


@pytest.fixture(scope="module")
def translator(tmp_path_factory):
    root = tmp_path_factory.mktemp("translation")
    spec = write_parallel(root, count=200)
    status = zoo.cli.main(["train", "gru_seq2seq", "--data", spec, "--level", "word", "--workdir", str(root / "work"),
                           "--export-dir", str(root / "saved_models"), *LEARN])
    assert status == 0
    return root, spec, str(root / "saved_models" / "gru_seq2seq" / "1")


@pytest.fixture(scope="module")
def captioner(tmp_path_factory):
    root = tmp_path_factory.mktemp("captioning")
    spec = write_flickr8k(root, count=60)
    status = zoo.cli.main(["train", "cnn_rnn_captioner", "--data", spec, "--level", "word", "--lowercase",
                           "--workdir", str(root / "work"), "--export-dir", str(root / "saved_models"), "--preset",
                           "tiny", "--set", "filters=[8]", *LEARN])
    assert status == 0
    return root, spec, str(root / "saved_models" / "cnn_rnn_captioner" / "1")


# ----------------------------------------------------------------------------- translation


def test_translator_trains_exports_and_its_export_serves_without_zoo(translator):
    root, _, export = translator
    card = read_card(export)
    assert card["task"] == "seq2seq" and card["input"] == "text" and card["beam_width"] == 2
    assert card["max_decode_length"] == 6 and card["alpha"] == 0.6
    assert card["data"]["source"]["level"] == "word" and card["data"]["source"]["special_ids"]["<EOS>"] == 3
    assert card["data"]["train_pairs"] + card["data"]["dev_pairs"] == 200 and card["data"]["dev_pairs"] == 20
    assert {"bleu", "bleu_signature", "chrf", "perplexity"} <= set(card["metrics"])
    assert card["metrics"]["bleu"] > 90  # the held-out pairs, decoded through the serving graph
    assert (root / "work" / "source.vocab").is_file() and (root / "work" / "target.vocab").is_file()
    texts = ["sun moon", "", " ".join(["star"] * 1000), "Straße über café ☃"]
    outputs = check_export(export, {"serving_default": {"text": texts}, "greedy": {"text": texts}})
    for name in ("serving_default", "greedy"):
        lengths = outputs[name]["length"]
        assert outputs[name]["translation"][1] == b"" and lengths[1] == 0  # empty in, empty out
        assert all(0 <= n <= 6 for n in lengths)  # 1,000 words in: decoding stops at max_decode_length
        assert outputs[name]["translation"][0] == b"sol luna"


def test_translator_predicts_and_evaluates_from_the_command_line(translator, tmp_path, capsys):
    root, spec, export = translator
    status, out, _ = run(capsys, "predict", export, "sun moon star", "", "--json")
    rows = json.loads(out)
    assert status == 0 and rows == [{"input": "sun moon star", "translation": "sol luna astro"},
                                    {"input": "", "translation": ""}]
    status, out, _ = run(capsys, "predict", export, "tree river", "--greedy")
    assert status == 0 and out == "arbol rio\n"
    status, out, _ = run(capsys, "evaluate", export, "--data", spec, "--out", tmp_path / "report")
    assert status == 0
    assert "BLEU" in out and "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:" in out
    assert "case:lc" in out and "chrF" in out and "decoding: beam search, width 2" in out
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["examples_scored"] == 200 and report["bleu"] > 90


def test_subword_translator_with_a_joint_vocabulary(tmp_path, capsys):
    spec = write_parallel(tmp_path)
    status, out, err = run(capsys, "train", "lstm_seq2seq", "--data", spec, "--level", "subword", "--vocab-size", "30",
                           "--joint-vocab", "--model-type", "bpe", "--workdir", tmp_path / "work",
                           "--export-dir", tmp_path / "saved_models", *FAST)
    assert status == 0, err
    export = export_path(out)
    card = read_card(export)
    assert card["data"]["joint_vocab"] and card["data"]["model_type"] == "bpe"
    assert card["data"]["source"] == card["data"]["target"] and card["data"]["source"]["level"] == "subword"
    assert (tmp_path / "work" / "target.model").is_file()
    check_export(export, {"serving_default": {"text": ["sun moon", ""]}})
    status, out, _ = run(capsys, "predict", export, "river cloud")
    assert status == 0 and len(out.splitlines()) == 1


def test_tune_searches_and_exports_a_translator(tmp_path, capsys):
    spec = write_parallel(tmp_path, count=20)
    status, out, err = run(capsys, "tune", "gru_seq2seq", "--data", spec, "--level", "word", "--tuner", "random",
                           "--max-trials", "1", "--max-epochs", "1", "--directory", tmp_path / "tuning",
                           "--workdir", tmp_path / "work", "--export-dir", tmp_path / "saved_models",
                           "--beam-width", "2", "--max-decode-length", "4")
    assert status == 0, err
    card = read_card(export_path(out))
    assert card["task"] == "seq2seq" and "tuning" in card and card["beam_width"] == 2 and "BLEU" in out


# ----------------------------------------------------------------------------- captioning


def test_captioner_trains_exports_predicts_and_evaluates(captioner, tmp_path, capsys):
    root, spec, export = captioner
    card = read_card(export)
    assert card["task"] == "captioning" and card["input"] == "image_bytes"
    assert card["data"]["train_images"] + card["data"]["dev_images"] == 60 and card["data"]["image_size"] == [8, 8]
    assert card["data"]["target"]["lowercase"] is True
    assert {"bleu_1", "bleu_4", "bleu_signature", "perplexity"} <= set(card["metrics"])
    assert card["metrics"]["bleu_3"] > 90  # held-out images; the captions have no 4-grams, so BLEU-4 is 0
    photo = root / "images" / "0.png"
    (label,) = bars(60, 0)[1][:1]
    outputs = check_export(export, {"serving_default": {"image_bytes": [photo.read_bytes()]},
                                    "greedy": {"image_bytes": [photo.read_bytes()]}})
    assert all(n <= 6 for n in outputs["greedy"]["length"])
    status, out, _ = run(capsys, "predict", export, photo)
    assert status == 0 and out.strip() in CAPTIONS[int(label)]
    status, out, _ = run(capsys, "evaluate", export, "--data", spec, "--out", tmp_path / "report", "--greedy")
    assert status == 0 and "BLEU-1" in out and "BLEU-4" in out and "decoding: greedy" in out
    assert json.loads((tmp_path / "report" / "report.json").read_text())["bleu_3"] > 90


def test_captioner_answers_non_image_bytes_with_an_error_not_a_crash(captioner, tmp_path, capsys):
    _, _, export = captioner
    bad = base64.b64encode(b"these bytes are not an image").decode("ascii")
    response = rest_predict(load(export), {"inputs": {"image_bytes": [{"b64": bad}]}})
    assert "error" in response
    (tmp_path / "notes.png").write_bytes(b"these bytes are not an image")
    status, out, err = run(capsys, "predict", export, tmp_path / "notes.png")
    assert status == 2 and err.startswith("zoo: error: ") and len(err.strip().splitlines()) == 1
    status, _, err = run(capsys, "predict", export, tmp_path / "missing.png")
    assert status == 2 and "missing.png" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("source, target, message", [
    ("a b\nc d\n", "x y\n", "the parallel files differ in length"),
    ("", "", "file is empty"),
    ("a b\n\nc d\n", "x y\nz\nw v\n", "the files are not aligned"),
])
def test_bad_parallel_files_give_one_line_and_exit_2(tmp_path, capsys, source, target, message):
    (tmp_path / "s.txt").write_text(source, encoding="utf-8")
    (tmp_path / "t.txt").write_text(target, encoding="utf-8")
    status, _, err = run(capsys, "train", "gru_seq2seq", "--data", f"parallel:{tmp_path / 's.txt'},{tmp_path / 't.txt'}",
                         "--level", "word", *FAST)
    assert status == 2 and err.startswith("zoo: error: ") and message in err and len(err.strip().splitlines()) == 1


def test_bad_options_give_one_line_and_exit_2(tmp_path, capsys):
    spec = write_parallel(tmp_path, count=6)
    status, _, err = run(capsys, "train", "gru_seq2seq", "--data", spec, "--level", "word", *FAST,
                         "--label-smoothing", "1.5", "--workdir", tmp_path / "work", "--export-dir", tmp_path / "out")
    assert status == 2 and "label_smoothing must be in [0, 1)" in err and len(err.strip().splitlines()) == 1, err
    for flag in ("--beam-width", "--max-length", "--image-size"):  # counts are refused while parsing the arguments
        with pytest.raises(SystemExit) as exit_:
            run(capsys, "train", "gru_seq2seq", "--data", spec, "--level", "word", *FAST, flag, "0")
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and f"argument {flag}: expected an integer >= 1, got 0" in err, err
        assert len(err.strip().splitlines()) == 1, err
    status, _, err = run(capsys, "train", "gru_seq2seq", "--data", "flickr8k:x.txt", *FAST)
    assert status == 2 and "'parallel', 'tsv-pairs'" in err
    status, _, err = run(capsys, "train", "cnn_rnn_captioner", "--data", "flickr8k:x.txt", *FAST, "--joint-vocab")
    assert status == 2 and "captioning has one" in err and len(err.strip().splitlines()) == 1, err


def test_the_vocabulary_is_in_the_graph_and_a_damaged_export_is_named(translator, tmp_path, capsys):
    """No vocabulary file ships beside the graph (tokenizers are graph constants), so none can go missing;
    a file missing from the SavedModel itself is one clear line at predict."""
    import shutil

    _, _, export = translator
    copy = tmp_path / "gru_seq2seq" / "1"
    shutil.copytree(export, copy)
    assert not (copy / "assets").exists() or not any((copy / "assets").iterdir())
    (copy / "variables" / "variables.index").unlink()
    status, _, err = run(capsys, "predict", copy, "sun moon")
    assert status == 2 and "not a readable SavedModel" in err and len(err.strip().splitlines()) == 1
