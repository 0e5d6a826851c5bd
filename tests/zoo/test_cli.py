"""The `zoo` command line: help everywhere, one-line errors, and the NER commands end to end."""

import json
import os
import subprocess
import sys

import pytest

from pipelines.readers import write_token_tag
from zoo.cli import build_parser, main

SUBCOMMANDS = ["list", "info", "train", "tune", "evaluate", "predict", "rest", "quickstart", "ngram", "serving-config"]


def test_every_subcommand_has_help(capsys):
    actions = [a for a in build_parser()._actions if a.dest == "command"]
    assert sorted(actions[0].choices) == sorted(SUBCOMMANDS)
    for command in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: zoo {command}" in capsys.readouterr().out


def test_console_script_help_runs_without_tensorflow():
    result = subprocess.run([sys.executable, "-c", "import sys; from zoo.cli import main; main(['--help']); "],
                            capture_output=True, text=True, timeout=60)
    assert "train" in result.stdout and "quickstart" in result.stdout


def _run(args):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def test_user_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("EU NNP I-NP I-ORG\nrejects VBZ O\n")
    result = _run(["train", "bilstm_ner", "--data", f"conll2003:{bad}"])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"zoo: error: {bad}:2: expected 4 space-separated columns (word POS chunk NER), got 3: 'rejects VBZ O'"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "no_such_model", "--data", "tsv:x"], "Unknown model name. Received: name='no_such_model'; registered models: ["),
        (["info", "no_such_model"], "registered models"),
        (["train", "bilstm_ner", "--data", "csv:x"], "conll2003"),
        (["train", "bilstm_ner", "--data", "tsv:/no/such/file.tsv"], "/no/such/file.tsv: file not found"),
        (["predict", "/no/such/export", "hello"], "/no/such/export: no such export"),
        (["train", "bilstm_ner", "--data", "tsv:x", "--set", "novalue"], "--set expects KEY=VALUE"),
    ],
)
def test_bad_names_and_paths_exit_2_with_a_message(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ") and message in err and err.count("\n") == 1


def test_list_and_info(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "bilstm_ner" in out and "ner" in out
    assert main(["info", "bilstm_ner", "--preset", "tiny"]) == 0
    out = capsys.readouterr().out
    assert '"lstm_units": 8' in out
    assert "tag_log_probs" in out and "(None, None, 9)" in out  # layer-by-layer shapes


def test_train_evaluate_predict_rest_end_to_end(tmp_path, synthetic_sentences, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_token_tag(tmp_path / "train.tsv", synthetic_sentences[:300])
    write_token_tag(tmp_path / "dev.tsv", synthetic_sentences[300:])
    assert main(["train", "bilstm_ner", "--data", "tsv:train.tsv", "--dev", "tsv:dev.tsv", "--epochs", "1",
                 "--preset", "tiny", "--set", "lstm_units=6", "--workdir", "run", "--export-dir", "out",
                 "--tag-scheme", "iobes", "--lr-decay", "0.05", "--singleton-unk", "0.5", "--word-dropout", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "exported: out/bilstm_ner/1" in out and "entity F1" in out
    card = json.loads((tmp_path / "out/bilstm_ner/1/model_card.json").read_text())
    assert card["config"]["lstm_units"] == 6 and card["tag_scheme"] == "iobes" and card["training"]["lr_decay"] == 0.05
    assert card["data"]["singleton_unk"] == 0.5 and card["data"]["word_dropout"] == 0.05
    assert (tmp_path / "run/training_curves.png").exists()

    assert main(["evaluate", "out/bilstm_ner", "--data", "tsv:dev.tsv", "--out", "report"]) == 0
    report = json.loads((tmp_path / "report/report.json").read_text())
    assert report["sentences"] == 100 and 0.0 <= report["token_accuracy"] <= 1.0
    assert "strict IOB2" in report["f1_scheme"]
    assert (tmp_path / "report/confusion_matrix.png").exists()
    assert "token accuracy (padding masked)" in capsys.readouterr().out

    assert main(["predict", "out/bilstm_ner/1", "Sharon flew to Miami last Friday.", "--json"]) == 0
    tagged = json.loads(capsys.readouterr().out)
    assert [t["token"] for t in tagged[0]] == ["Sharon", "flew", "to", "Miami", "last", "Friday", "."]

    (tmp_path / "request.json").write_text(json.dumps({"instances": ["Hi there ."]}))
    assert main(["rest", "out/bilstm_ner", "request.json"]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"][0]["tokens"] == ["Hi", "there", "."]


def test_evaluate_rejects_tags_the_model_does_not_know(tiny_export, tmp_path, capsys):
    from pipelines.readers import TaggedSentence

    write_token_tag(tmp_path / "odd.tsv", [TaggedSentence(("Hi",), ("B-xyz",))])
    assert main(["evaluate", str(tiny_export), "--data", f"tsv:{tmp_path / 'odd.tsv'}"]) == 2
    assert "uses tags the model does not know: ['B-xyz']" in capsys.readouterr().err


def test_train_a_tagger_from_word_vectors(tmp_path, synthetic_sentences, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_token_tag(tmp_path / "train.tsv", synthetic_sentences[:200])
    write_token_tag(tmp_path / "dev.tsv", synthetic_sentences[200:260])
    words = sorted({t for s in synthetic_sentences[:200] for t in s.tokens if t.isalpha()})[:5]
    (tmp_path / "vectors.txt").write_text(
        "Zzunseen 1 2 3\n" + "".join(f"{w.lower()} 0.5 0.5 0.5\n" for w in words), encoding="utf-8")
    assert main(["train", "bilstm_crf_ner", "--data", "tsv:train.tsv", "--dev", "tsv:dev.tsv", "--epochs", "1",
                 "--preset", "tiny", "--word-vectors", "vectors.txt", "--vectors-vocab", "1", "--workdir", "run",
                 "--export-dir", "out"]) == 0
    out = capsys.readouterr().out
    assert "word vectors: " in out and "exported: out/bilstm_crf_ner/1" in out
    card = json.loads((tmp_path / "out/bilstm_crf_ner/1/model_card.json").read_text())
    # Words are looked up lowercased by this tagger, and "Zzunseen" (from --vectors-vocab) keeps its vector as "zzunseen".
    assert card["config"]["embedding_dim"] == 3
    assert card["data"]["word_vectors"]["covered"] == len({w.lower() for w in words}) + 1
    assert card["training"]["freeze_embeddings"] is False


def test_rest_exits_2_for_a_request_the_server_would_refuse(tiny_export, tmp_path, capsys):
    (tmp_path / "bad.json").write_text(json.dumps({"instances": ["Hi"], "signature_name": "nope"}))
    assert main(["rest", str(tiny_export), str(tmp_path / "bad.json")]) == 2
    assert "error" in json.loads(capsys.readouterr().out)


def _subparsers(parser, prefix="zoo"):
    """(command, parser) for every subcommand, nested ones (`zoo ngram fit`) included."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from _subparsers(sub, f"{prefix} {name}")


def test_every_option_with_a_default_says_it_in_its_help():
    missing = [f"{command} {action.option_strings[0]}" for command, sub in _subparsers(build_parser())
               for action in sub._actions
               if action.option_strings and action.default not in (None, False, [], "==SUPPRESS==")
               and "default" not in (action.help or "")]
    assert not missing, f"say the default in the help of: {missing}"


def test_evaluate_help_names_only_its_own_options(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--set" not in text and "--dev" not in text


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["tune", "--help"], ["evaluate", "--help"],
                                  ["train", "bilstm_ner", "--data", "tsv:x", "--epochs", "0"], ["list", "--bogus"]])
def test_help_and_usage_errors_import_no_tensorflow(args):
    code = ("import sys\nfrom zoo.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines()[-1] == "[]", result.stderr


def test_list_builds_models_only_for_parameter_counts(capsys, monkeypatch):
    import zoo.registry

    def no_build(*args, **kwargs):
        raise AssertionError("built a model")

    with monkeypatch.context() as patch:
        patch.setattr(zoo.registry, "build", no_build)
        assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "bilstm_ner" in out and "parameters" not in out.splitlines()[0]
    assert main(["list", "--params"]) == 0
    out = capsys.readouterr().out
    assert "parameters" in out.splitlines()[0] and "2,236,809" in out


def test_best_epochs_is_the_first_best_epoch():
    from zoo.tasks.loops import best_epochs

    assert best_epochs({"val_f1": [0.5, 0.7, 0.7, 0.6]}, "val_f1", "max") == 2
    assert best_epochs({"loss": [3.0, 2.0, 2.0, float("nan")]}, "loss", "min") == 2
    assert best_epochs({"val_f1": [float("nan"), 0.1]}, "val_f1", "max") == 2
    with pytest.raises(Exception, match="no val_f1"):
        best_epochs({"loss": [1.0]}, "val_f1", "max")
