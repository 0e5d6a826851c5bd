import pytest

from zoo.quickstart import quickstart


@pytest.mark.slow
def test_quickstart_tags_the_example_sentence(tmp_path, capsys):
    tagged = quickstart(export_dir=tmp_path / "saved_models", workdir=tmp_path / "run")
    assert [t for t, _, _ in tagged] == ["Sharon", "flew", "to", "Miami", "last", "Friday", "."]
    assert [tag for _, tag, _ in tagged] == ["B-per", "O", "O", "B-geo", "O", "B-tim", "O"]
    assert (tmp_path / "saved_models" / "bilstm_ner" / "1" / "saved_model.pb").exists()
    assert "B-per O O B-geo O B-tim O" in capsys.readouterr().out
