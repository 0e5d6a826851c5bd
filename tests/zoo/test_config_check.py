"""Model configs are checked against the builder's defaults: keys, types, ranges and presets."""

import pytest

import zoo
from zoo.cli import main
from zoo.config_check import check_values
from zoo.errors import ConfigError, ZooError

SIZES = {"vocab_size": 10, "num_tags": 3}


@pytest.mark.parametrize("overrides, message", [
    ({"lstm_unitz": 8}, "unknown config key 'lstm_unitz' for 'bilstm_ner'; did you mean 'lstm_units'? allowed keys: ["),
    ({"zzz": 8}, "unknown config key 'zzz' for 'bilstm_ner' allowed keys: ["),
    ({"lstm_units": "abc"}, "bad config value for 'bilstm_ner': lstm_units='abc'; expected an integer"),
    ({"lstm_units": 8.5}, "lstm_units=8.5; expected an integer"),
    ({"lstm_units": True}, "lstm_units=True; expected an integer"),
    ({"lstm_units": 0}, "lstm_units=0; expected an integer >= 1"),
    ({"num_layers": -1}, "num_layers=-1; expected an integer >= 1"),
    ({"dropout": 1.5}, "dropout=1.5; expected a fraction from 0 (included) to 1 (excluded)"),
    ({"dropout": -0.1}, "dropout=-0.1; expected a fraction"),
    ({"dropout": "high"}, "dropout='high'; expected a number"),
])
def test_bad_configs_name_the_key_the_value_and_what_is_allowed(overrides, message):
    with pytest.raises(ConfigError) as caught:
        zoo.get_spec("bilstm_ner").config(None, **SIZES, **overrides)
    assert message in str(caught.value)


def test_booleans_take_only_true_or_false():
    with pytest.raises(ConfigError, match="residual='yes'; expected true or false"):
        zoo.get_spec("lstm_lm").config(None, vocab_size=10, residual="yes")


def test_config_errors_are_user_errors_and_value_errors():
    assert issubclass(ConfigError, ZooError) and issubclass(ConfigError, ValueError)


def test_good_values_pass_ints_as_floats_too():
    config = zoo.get_spec("bilstm_ner").config("tiny", **SIZES, dropout=0, lstm_units=4)
    assert config["dropout"] == 0 and config["lstm_units"] == 4


@pytest.mark.parametrize("value, message", [
    ([64, "x"], "expected a list of integers, e.g. [128]"),
    ("wide", "expected a list of integers, e.g. [128]"),
    ([64, 0], "expected integers >= 1"),
])
def test_lists_are_checked_item_by_item(value, message):
    with pytest.raises(ConfigError, match=r"dense_units=.*" + message.replace("[", r"\[").replace("]", r"\]")):
        check_values("cnn", {"dense_units": value}, {"dense_units": (128,)})


def test_string_and_none_defaults_leave_the_choice_to_the_builder():
    defaults = {"padding": "same", "pools": ("mean", "max"), "anything": None}
    check_values("m", {"padding": [2, "valid"], "pools": "max", "anything": [1, "a"]}, defaults)
    check_values("m", {"padding": None, "pools": ["attention"]}, defaults)
    with pytest.raises(ConfigError, match=r"pools=\[3\]; expected a list of strings"):
        check_values("m", {"pools": [3]}, defaults)


def test_unknown_preset_lists_the_presets():
    spec = zoo.get_spec("bilstm_ner")
    with pytest.raises(ConfigError, match=rf"unknown preset 'huge' for 'bilstm_ner'; presets: {sorted(spec.presets)}"
                                          .replace("[", r"\[").replace("]", r"\]")):
        spec.config("huge", **SIZES)


def test_a_choice_the_builder_refuses_is_a_config_error():
    with pytest.raises(ConfigError, match="cell='transformer'"):
        zoo.build("sentiment_birnn", vocab_size=10, num_classes=2, cell="transformer")


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_preset_passes_the_checks(name):
    spec = zoo.get_spec(name)
    for preset in [None, *spec.presets]:
        spec.config(preset, **spec.example_sizes)


@pytest.mark.parametrize("args, message", [
    (["info", "bilstm_ner", "--preset", "huge"], "unknown preset 'huge' for 'bilstm_ner'; presets: ["),
])
def test_cli_reports_config_errors_in_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("setting, message", [
    ("lstm_unitz=8", "did you mean 'lstm_units'?"),
    ("lstm_units=abc", "lstm_units='abc'; expected an integer"),
    ("lstm_units=0", "lstm_units=0; expected an integer >= 1"),
    ("dropout=1.5", "dropout=1.5; expected a fraction"),
])
def test_cli_train_refuses_bad_set_values(tmp_path, synthetic_sentences, setting, message, capsys, monkeypatch):
    from pipelines.readers import write_token_tag

    monkeypatch.chdir(tmp_path)
    write_token_tag(tmp_path / "train.tsv", synthetic_sentences[:40])
    assert main(["train", "bilstm_ner", "--data", "tsv:train.tsv", "--epochs", "1", "--preset", "tiny",
                 "--set", setting, "--workdir", "run", "--export-dir", "out"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_numbers_may_be_given_per_layer_and_each_is_checked():
    defaults = {"kernel_size": 3, "dropout": 0.5, "batch_norm": True}
    check_values("m", {"kernel_size": [3, 5], "dropout": [0, 0.25], "batch_norm": [True, False]}, defaults)
    for config, message in [({"kernel_size": [3, 0]}, "kernel_size=[3, 0]; expected integers >= 1"),
                            ({"kernel_size": []}, "kernel_size=[]; expected an integer or a list of integers"),
                            ({"kernel_size": [3, "5"]}, "expected an integer or a list of integers"),
                            ({"dropout": [0.1, 1.2]}, "dropout=[0.1, 1.2]; expected fractions from 0 (included)")]:
        with pytest.raises(ConfigError) as caught:
            check_values("m", config, defaults)
        assert message in str(caught.value)
