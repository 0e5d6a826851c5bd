"""Test set-up: CPU only, few threads, everything seeded; shared tiny data and a tiny export."""

import os

os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def synthetic_sentences():
    from pipelines.synthetic import synthetic_ner_corpus

    return synthetic_ner_corpus(400, seed=0)


@pytest.fixture(scope="session")
def ner_data(synthetic_sentences):
    from zoo.tasks.ner import prepare_ner_data

    return prepare_ner_data(synthetic_sentences[:360], synthetic_sentences[360:], model="bilstm_ner", batch_size=32)


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory, ner_data):
    """A `bilstm_ner` trained 3 epochs on the synthetic corpus and exported once per session."""
    from zoo.tasks.ner import train_ner

    root = tmp_path_factory.mktemp("export")
    path, report = train_ner("bilstm_ner", ner_data, epochs=3, workdir=root / "work", export_dir=root / "saved_models",
                             preset="quickstart", learning_rate=1e-2, verbose=0)
    return path
