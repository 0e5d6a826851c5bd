"""Built-in model families; importing this package registers them."""

from zoo.models import bilstm_ner  # noqa: F401
