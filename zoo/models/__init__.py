"""Built-in model families; importing this package registers them."""

from zoo.models import bilstm_crf_ner, bilstm_ner  # noqa: F401
from zoo.models import cnn_classifier, cnn_resnet  # noqa: F401
from zoo.models import language_model  # noqa: F401
from zoo.models import sentiment  # noqa: F401
from zoo.models import siamese  # noqa: F401
from zoo.models import seq2seq  # noqa: F401
from zoo.models import captioner  # noqa: F401
