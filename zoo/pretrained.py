"""Pretrained word vectors into a built model's `token_embedding` layer (every text model of the zoo has one)."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from zoo.errors import ZooError

EMBEDDING_LAYER = "token_embedding"


def find_token_embedding(model: keras.Model) -> keras.layers.Embedding:
    """The layer named `token_embedding`, searched in nested models too (a Siamese model's encoder)."""
    for layer in model.layers:
        if layer.name == EMBEDDING_LAYER:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return find_token_embedding(layer)
            except ZooError:
                continue
    raise ZooError(f"model {model.name!r} has no {EMBEDDING_LAYER!r} layer to take pretrained word vectors")


def set_token_embedding(model: keras.Model, matrix: np.ndarray, *, trainable: bool = True) -> keras.layers.Embedding:
    """Copies `matrix` (vocabulary size, dim) into the model's token embedding; `trainable=False` freezes it.

    Freeze before compiling: Keras collects the trainable weights when the model is compiled.
    """
    layer = find_token_embedding(model)
    (current,) = layer.get_weights()
    if current.shape != matrix.shape:
        raise ZooError(f"pretrained vectors of shape {matrix.shape} do not fit {model.name!r}'s token embedding "
                       f"{current.shape} (vocabulary size, embedding_dim): build it with embedding_dim={matrix.shape[1]}")
    layer.set_weights([matrix.astype(current.dtype)])
    layer.trainable = trainable
    return layer


def vocabulary_with_vectors(vocab, path, *, first: int = 0, keys=None, seed: int = 0):
    """A task's vocabulary extended with a vectors file's first words, and its pretrained embedding matrix.

    Args:
        vocab: the vocabulary built from the training data.
        path: a GloVe / word2vec / fastText text file, or the name of installed vectors such as
            "glove-6b-50d" (see `pipelines.word_vectors`).
        first: the file's first this many words join the vocabulary.
        keys: maps a list of file words to the keys the task looks words up by (e.g. NER's
            digit-normalised forms); identity when `None`.
        seed: of the random rows of words without a vector.

    Returns:
        (extended vocabulary, matrix (len(vocabulary), dim), coverage report).
    """
    from pipelines.word_vectors import embedding_matrix, extend_vocabulary, load_word_vectors

    vectors = load_word_vectors(path, vocab.tokens, first=first)
    extra = list(vectors.first_words) if keys is None else keys(list(vectors.first_words))
    by_key = dict(vectors.vectors)
    for word, key in zip(vectors.first_words, extra):  # "Paris" in the file is looked up as "paris"
        by_key.setdefault(key, vectors.vectors[word])
    vectors = dataclasses.replace(vectors, vectors=by_key)
    vocab = extend_vocabulary(vocab, extra)
    matrix, report = embedding_matrix(vocab, vectors, seed=seed)
    return vocab, matrix, report


def embedding_dim_for(config: dict, embeddings: np.ndarray, *, freeze: bool = False) -> dict:
    """`config` with `embedding_dim` set to the vectors' size, or to a larger size asked for (not frozen).

    A size below the vectors' is an error, and so is a larger one with `freeze`: the extra
    dimensions would be fixed random numbers.
    """
    dim = int(embeddings.shape[1])
    asked = config.get("embedding_dim", dim)
    if not isinstance(asked, int) or asked < dim or (freeze and asked != dim):
        expected = f"must be {dim}" if freeze else f"must be at least {dim} (larger: the extra dimensions are learned)"
        raise ZooError(f"the word vectors have {dim} dimensions, so embedding_dim {expected}. "
                       f"Received: embedding_dim={config['embedding_dim']}")
    return {**config, "embedding_dim": asked}


def widen(embeddings: np.ndarray, dim: int, *, seed: int = 0) -> np.ndarray:
    """`embeddings` with random columns appended up to `dim`, at the vectors' scale (row 0, `<PAD>`, stays 0)."""
    extra = dim - embeddings.shape[1]
    if extra <= 0:
        return embeddings
    columns = np.random.default_rng(seed).normal(0.0, float(embeddings[1:].std()), (len(embeddings), extra))
    columns[0] = 0.0
    return np.concatenate([embeddings, columns.astype(embeddings.dtype)], axis=1)


def build_with_vectors(name: str, *, embeddings: np.ndarray | None, freeze: bool = False, preset: str | None = None,
                       config: dict | None = None, **sizes) -> tuple[keras.Model, dict]:
    """`zoo.build` of a text model whose token embedding starts from `embeddings` when given.

    With an `embedding_dim` in `config` above the vectors' size, the vectors fill the first columns
    and the rest start random (`widen`) and are learned with them.

    Returns:
        (model, the config it was built with: `embedding_dim` is the vectors' size unless a larger one was asked).
    """
    from zoo.registry import build

    config = dict(config or {})
    if embeddings is None:
        return build(name, preset=preset, **sizes, **config), config
    config = embedding_dim_for(config, embeddings, freeze=freeze)
    model = build(name, preset=preset, **sizes, **config)
    set_token_embedding(model, widen(embeddings, config["embedding_dim"]), trainable=not freeze)
    return model, config


def check_no_vectors_for_search(embeddings: np.ndarray | None) -> None:
    """`zoo tune` searches `embedding_dim`, which pretrained vectors fix: refuse the combination."""
    if embeddings is not None:
        raise ZooError("`zoo tune` searches embedding_dim, so it cannot start from pretrained word vectors; "
                       "train with --word-vectors instead")


def vector_options(args) -> dict:
    """`--word-vectors` and `--vectors-vocab` (only `zoo train` has them) as data-preparation arguments."""
    return {"word_vectors": getattr(args, "word_vectors", None), "vectors_vocab": getattr(args, "vectors_vocab", 0)}
