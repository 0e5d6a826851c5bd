"""Task families (NER, images, sentiment, language models, Siamese): one registry, one `Task` class each.

Tasks register lazily as "module:Class", so looking a name up imports that task alone and
`zoo --help` imports no TensorFlow. `zoo.tasks.base` holds the `Task` protocol and the shared
train / tune / export / evaluate loops.
"""

from __future__ import annotations

import importlib

from zoo.errors import ZooError

# task name -> "module:Class" until first use, then the `Task` instance.
TASKS: dict = {}
# task name -> "module:function" that adds the task's own options to a `zoo` subcommand's parser.
ARGUMENTS: dict[str, str] = {}


def register_task(name: str, target: str, *, arguments: str | None = None) -> None:
    """Registers the task `name` as `"package.module:ClassName"`; a name registers once.

    `arguments` is `"module:function"`, an argparse-only `function(parser, command)` that adds the
    task's own options to `zoo train`, `tune`, `evaluate` and `predict` (see `zoo.tasks.arguments`).
    """
    if name in TASKS:
        raise ValueError(f"Task {name!r} is already registered (as {TASKS[name]!r}). Received: {target!r}")
    for value in (target, arguments or ":"):
        if ":" not in value:
            raise ValueError(f"Expected a target 'module:name'. Received: {value!r}")
    TASKS[name] = target
    if arguments:
        ARGUMENTS[name] = arguments


def add_task_arguments(parser, command: str) -> None:
    """Every registered task's own options on the parser of `zoo COMMAND` (imports argparse code only)."""
    for name in list_tasks():
        if name in ARGUMENTS:
            module, _, function = ARGUMENTS[name].partition(":")
            getattr(importlib.import_module(module), function)(parser, command)


def get_task(name: str):
    """The registered `Task` named `name`; `ZooError` naming the known tasks otherwise."""
    from zoo.tasks.base import Task, missing_hooks

    if name not in TASKS:
        raise ZooError(f"Unknown task. Received: task={name!r}; registered tasks: {list_tasks()}")
    task = TASKS[name]
    if isinstance(task, str):
        module, _, cls = task.partition(":")
        task = getattr(importlib.import_module(module), cls)()
        if not isinstance(task, Task) or task.name != name:
            raise TypeError(f"{TASKS[name]!r} is not the Task {name!r}. Received: {task!r}")
        missing = missing_hooks(task)
        if missing:
            raise TypeError(f"Task {name!r} does not define the hooks {missing}")
        TASKS[name] = task
    return task


def list_tasks() -> list[str]:
    return sorted(TASKS)


register_task("ner", "zoo.tasks.ner:NerTask", arguments="zoo.tasks.arguments:ner")
register_task("image", "zoo.tasks.image:ImageTask", arguments="zoo.tasks.arguments:image")
register_task("sentiment", "zoo.tasks.sentiment:SentimentTask", arguments="zoo.tasks.arguments:sentiment")
register_task("language_model", "zoo.tasks.language_model:LanguageModelTask",
              arguments="zoo.tasks.arguments:language_model")
register_task("siamese", "zoo.tasks.siamese:SiameseTask", arguments="zoo.tasks.arguments:siamese")
