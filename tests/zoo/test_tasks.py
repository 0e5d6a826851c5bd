"""The task registry: every task defines its hooks, names register once, unknown names list the known ones."""

import pytest

from zoo.errors import ZooError
from zoo.registry import get_spec, list_models
from zoo.tasks import TASKS, get_task, list_tasks, register_task
from zoo.tasks.base import REQUIRED_HOOKS, Task, missing_hooks
from zoo.tasks.loops import check_training


def test_every_registered_task_defines_every_hook():
    assert list_tasks() == ["captioning", "image", "language_model", "ner", "sentiment", "seq2seq", "siamese"]
    for name in list_tasks():
        task = get_task(name)
        assert task.name == name and missing_hooks(task) == []
        assert task.monitor.startswith("val_") and task.mode in ("min", "max")
        assert "serving_default" in task.signatures and task.noun
        assert set(task.example_inputs()) <= set(_signature_inputs(name))


def _signature_inputs(name):
    return {"ner": ["text"], "image": ["image_bytes"], "sentiment": ["text"],
            "language_model": ["prompt", "steps", "temperature"], "siamese": ["text_a", "text_b"],
            "seq2seq": ["text"], "captioning": ["image_bytes"]}[name]


def test_every_model_belongs_to_a_registered_task():
    assert {get_spec(name).task for name in list_models()} <= set(TASKS)


class Incomplete(Task):
    name = "incomplete"

    def sizes(self, data):
        return {}


def test_a_task_registered_without_its_hooks_fails_on_first_use(monkeypatch):
    monkeypatch.setitem(TASKS, "incomplete", f"{__name__}:Incomplete")
    with pytest.raises(TypeError, match="does not define the hooks") as error:
        get_task("incomplete")
    assert "'compile'" in str(error.value) and "'sizes'" not in str(error.value)
    assert sorted(missing_hooks(Incomplete())) == sorted(set(REQUIRED_HOOKS) - {"sizes"})


def test_a_task_registers_once_and_unknown_tasks_list_the_known_ones():
    with pytest.raises(ValueError, match="'ner' is already registered"):
        register_task("ner", "zoo.tasks.ner:NerTask")
    with pytest.raises(ValueError, match="'module:name'. Received: 'zoo.tasks.ner'"):
        register_task("other", "zoo.tasks.ner")
    with pytest.raises(ZooError, match=r"task='nope'; registered tasks: \['captioning', 'image', 'language_model', 'ner'"):
        get_task("nope")


def test_checks_before_training_name_the_bad_value():
    ner = get_task("ner")
    with pytest.raises(ZooError, match="epochs=0"):
        check_training(ner, epochs=0, members=1)
    with pytest.raises(ZooError, match="members=0"):
        check_training(ner, epochs=1, members=0)
    with pytest.raises(ZooError, match="'image' models do not train as ensembles. Received: members=2"):
        check_training(get_task("image"), epochs=1, members=2)
    for ensembles in ("siamese", "sentiment", "ner"):
        check_training(get_task(ensembles), epochs=1, members=2)
