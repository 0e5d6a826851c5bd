"""zoo: named Keras models with tf.data pipelines, training, tuning and TF-Serving-ready export.

    >>> import zoo
    >>> zoo.list_models()
    ['bilstm_ner']
    >>> model = zoo.build("bilstm_ner", vocab_size=20000, num_tags=17)

The public names are imported lazily, so `zoo --help` answers without loading TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "ModelSpec": "zoo.registry",
    "UnknownModelError": "zoo.registry",
    "build": "zoo.registry",
    "get_spec": "zoo.registry",
    "list_models": "zoo.registry",
    "register_model": "zoo.registry",
    "load": "zoo.serving",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
