"""The one registry of named models: a dict of specs, a decorator that fills it, and `build()`."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Mapping

import keras

from zoo.config_check import check_keys, check_preset, check_values
from zoo.errors import ConfigError

Builder = Callable[..., keras.Model]
SearchSpace = Callable[[Any], dict]


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one named model.

    Attributes:
        name: the registered name, e.g. `"bilstm_ner"`.
        task: the task family (`"ner"`, ...); tasks own compiling, training and export.
        builder: a function taking keyword-only config and returning an uncompiled functional model.
        inputs: names of the model's inputs, which become serving-signature names.
        defaults: keyword arguments with defaults in `builder` (data-dependent sizes have none).
        required: keyword arguments without defaults (e.g. `vocab_size`), set from the data.
        presets: named partial configs, e.g. `{"tiny": {...}}` for tests and smoke runs.
        search_space: `fn(hp) -> dict` of config overrides drawn from a keras-tuner `HyperParameters`.
        example_sizes: typical values of the required sizes, used by `zoo list` / `zoo info`.
    """

    name: str
    task: str
    builder: Builder
    inputs: tuple[str, ...]
    defaults: dict
    required: tuple[str, ...]
    presets: dict
    search_space: SearchSpace | None
    example_sizes: dict = dataclasses.field(default_factory=dict)
    description: str = ""

    def config(self, preset: str | None = None, **overrides) -> dict:
        """The full config: defaults, then a preset, then overrides.

        Raises:
            ConfigError: an unknown preset or key, or a value of the wrong type or range
                (see `zoo.config_check`), named with what is allowed.
        """
        config = dict(self.defaults)
        if preset is not None:
            check_preset(self.name, preset, self.presets)
            config.update(self.presets[preset])
        config.update(overrides)
        check_keys(self.name, config, set(self.defaults) | set(self.required))
        check_values(self.name, config, self.defaults)
        return config


_REGISTRY: dict[str, ModelSpec] = {}


class UnknownModelError(KeyError):
    """A model name that is not registered; the message lists the registered ones."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


def register_model(
    name: str,
    *,
    task: str,
    inputs: tuple[str, ...],
    presets: Mapping[str, dict] | None = None,
    search_space: SearchSpace | None = None,
    example_sizes: Mapping[str, int] | None = None,
) -> Callable[[Builder], Builder]:
    """Registers a builder under `name`. Registering a name twice raises `ValueError`."""

    def decorator(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"A model named {name!r} is already registered.")
        signature = inspect.signature(builder)
        defaults, required = {}, []
        for parameter in signature.parameters.values():
            if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(
                    f"Builder {name!r} must take keyword-only arguments. "
                    f"Received: parameter {parameter.name!r} of kind {parameter.kind.name}"
                )
            if parameter.default is inspect.Parameter.empty:
                required.append(parameter.name)
            else:
                defaults[parameter.name] = parameter.default
        doc = inspect.getdoc(builder) or ""
        _REGISTRY[name] = ModelSpec(
            name=name,
            task=task,
            builder=builder,
            inputs=tuple(inputs),
            defaults=defaults,
            required=tuple(required),
            presets={k: dict(v) for k, v in (presets or {}).items()},
            search_space=search_space,
            example_sizes=dict(example_sizes or {}),
            description=doc.splitlines()[0] if doc else "",
        )
        return builder

    return decorator


def get_spec(name: str) -> ModelSpec:
    """The spec of a registered model; an unknown name raises `UnknownModelError` listing the known ones."""
    _load_builtin_models()
    if isinstance(name, ModelSpec):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"Unknown model name. Received: name={name!r}; registered models: {list_models()}"
        ) from None


def list_models() -> list[str]:
    """The registered model names, sorted."""
    _load_builtin_models()
    return sorted(_REGISTRY)


def build(name: str, *, preset: str | None = None, **config) -> keras.Model:
    """Builds the named model as an uncompiled functional `keras.Model`.

    Args:
        name: a registered name (see `list_models()`).
        preset: an optional named partial config from the spec, e.g. `"tiny"`.
        **config: builder arguments; data-dependent sizes such as `vocab_size` are required.

    Example:
        >>> model = zoo.build("bilstm_ner", vocab_size=5000, num_tags=9)
    """
    spec = get_spec(name)
    full = spec.config(preset, **config)
    missing = [key for key in spec.required if key not in full]
    if missing:
        raise ValueError(f"Model {name!r} needs {missing}; they depend on the data and have no default.")
    try:
        return spec.builder(**full)
    except (TypeError, ValueError) as error:
        # The builder's own checks (choices such as cell="gru") and Keras's: a user error, told in one line.
        raise ConfigError(str(error)) from error


def _load_builtin_models() -> None:
    # Importing the package registers every built-in model exactly once.
    import zoo.models  # noqa: F401


def models_table() -> str:
    """`zoo list`: every registered model with its task and parameter count."""
    lines = [f"{'name':<20}{'task':<16}{'parameters':>12}  description"]
    for name in list_models():
        spec = get_spec(name)
        model = build(name, **spec.example_sizes)
        lines.append(f"{name:<20}{spec.task:<16}{model.count_params():>12,}  {spec.description}")
    lines.append("(parameters: default config with the example sizes that `zoo info NAME` shows)")
    return "\n".join(lines)


def describe_model(name: str, *, preset: str | None = None) -> str:
    """`zoo info`: a model's spec, its config (defaults or a preset) and the output shape of every layer."""
    import json

    spec = get_spec(name)
    config = spec.config(preset, **spec.example_sizes)
    lines = [f"name:        {spec.name}", f"task:        {spec.task}", f"inputs:      {', '.join(spec.inputs)}",
             f"description: {spec.description}",
             f"required:    {', '.join(spec.required)} (set from the data; example values: {spec.example_sizes})",
             f"presets:     {json.dumps(spec.presets)}",
             f"search space: {'yes (zoo tune ' + spec.name + ')' if spec.search_space else 'none'}",
             f"config{' (preset ' + preset + ')' if preset else ' (defaults)'}:\n{json.dumps(config, indent=2)}"]
    model = build(spec.name, **config)
    lines.append(f"\n{'layer':<32}{'type':<22}{'output shape':<28}{'params':>10}")
    for layer in model.layers:
        shape = getattr(getattr(layer, "output", None), "shape", "?")
        lines.append(f"{layer.name:<32}{type(layer).__name__:<22}{str(shape):<28}{layer.count_params():>10,}")
    lines.append(f"total parameters: {model.count_params():,}")
    return "\n".join(lines)
