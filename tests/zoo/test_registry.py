import pytest

import zoo
from tests.helpers import check_registered_model
from zoo.registry import UnknownModelError, register_model


def test_list_models_has_bilstm_ner():
    assert "bilstm_ner" in zoo.list_models()
    assert zoo.list_models() == sorted(zoo.list_models())


def test_build_returns_uncompiled_functional_model():
    model = zoo.build("bilstm_ner", vocab_size=50, num_tags=5, lstm_units=4, embedding_dim=4)
    assert model.__class__.__name__ == "Functional"
    assert not model.compiled
    assert model.output.shape == (None, None, 5)


def test_unknown_name_lists_registered_names():
    with pytest.raises(UnknownModelError) as info:
        zoo.build("no_such_model")
    assert "no_such_model" in str(info.value) and "bilstm_ner" in str(info.value)


def test_registering_a_name_twice_raises():
    with pytest.raises(ValueError, match="already registered"):
        register_model("bilstm_ner", task="ner", inputs=("x",))(lambda *, a=1: None)


def test_builders_must_take_keyword_only_arguments():
    with pytest.raises(TypeError, match="keyword-only"):
        register_model("positional_builder_test", task="ner", inputs=("x",))(lambda a: None)


def test_missing_data_sizes_and_unknown_keys_are_named():
    with pytest.raises(ValueError, match="vocab_size"):
        zoo.build("bilstm_ner", num_tags=3)
    with pytest.raises(ValueError, match="lstm_unit"):
        zoo.build("bilstm_ner", vocab_size=10, num_tags=3, lstm_unit=3)
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        zoo.build("bilstm_ner", preset="huge", vocab_size=10, num_tags=3)


def test_spec_describes_the_model():
    spec = zoo.get_spec("bilstm_ner")
    assert spec.task == "ner"
    assert spec.required == ("vocab_size", "num_tags")
    assert spec.defaults["lstm_units"] == 128
    assert spec.config("tiny", vocab_size=9, num_tags=2)["lstm_units"] == 8


def test_search_space_is_declared_beside_the_builder():
    import keras_tuner as kt

    hp = kt.HyperParameters()
    config = zoo.get_spec("bilstm_ner").search_space(hp)
    assert set(config) <= set(zoo.get_spec("bilstm_ner").defaults)
    assert hp.get("lstm_units") == 64 and hp.get("num_layers") == 1


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_registered_model(name, tmp_path):
    check_registered_model(name, tmp_path)
