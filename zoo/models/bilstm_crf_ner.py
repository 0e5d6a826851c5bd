"""`bilstm_crf_ner`: word + character + word-shape features -> BiLSTM -> linear-chain CRF."""

from __future__ import annotations

import keras
from keras import layers

from pipelines.features import NUM_SHAPES
from zoo.layers.char_bilstm import CharBiLSTM
from zoo.layers.char_cnn import CharCNN
from zoo.layers.crf import CRF
from zoo.models.blocks import recurrent_stack, token_embedding
from zoo.registry import register_model


def search_space(hp) -> dict:
    """The keras-tuner search space: builder overrides drawn from `hp`."""
    return {
        "embedding_dim": hp.Choice("embedding_dim", [100, 200]),
        "char_filters": hp.Choice("char_filters", [30, 50, 100]),
        "lstm_units": hp.Choice("lstm_units", [100, 200]),
        "num_layers": hp.Int("num_layers", 1, 2),
        "dropout": hp.Float("dropout", 0.3, 0.6, step=0.1),
    }


CHAR_ENCODERS = ("cnn", "bilstm", "cnn+bilstm")


def char_features(char_ids, *, encoder: str, vocab_size: int, char_dim: int, filters: int, kernel_size: int,
                  units: int):
    """Each word's character features, (batch, time, features), from the chosen character encoder(s)."""
    if encoder not in CHAR_ENCODERS:
        raise ValueError(f"Unknown character encoder. Received: char_encoder={encoder!r}; "
                         f"allowed: {list(CHAR_ENCODERS)}")
    parts, features = encoder.split("+"), []
    if "cnn" in parts:
        features.append(CharCNN(vocab_size, char_dim, filters, kernel_size, name="char_cnn")(char_ids))
    if "bilstm" in parts:
        features.append(CharBiLSTM(vocab_size, char_dim, units, name="char_bilstm")(char_ids))
    return features[0] if len(features) == 1 else layers.Concatenate(name="char_features")(features)


PRESETS = {
    "tiny": {"embedding_dim": 8, "char_dim": 4, "char_filters": 4, "shape_dim": 2, "lstm_units": 8, "dropout": 0.0},
    "quickstart": {"embedding_dim": 32, "char_dim": 16, "char_filters": 16, "lstm_units": 32, "dropout": 0.1},
}


@register_model(
    "bilstm_crf_ner",
    task="ner",
    inputs=("token_ids", "char_ids", "shape_ids"),
    presets=PRESETS,
    search_space=search_space,
    example_sizes={"vocab_size": 20000, "char_vocab_size": 80, "num_tags": 9},
)
def bilstm_crf_ner(
    *,
    vocab_size: int,
    char_vocab_size: int,
    num_tags: int,
    embedding_dim: int = 100,
    char_dim: int = 30,
    char_filters: int = 50,
    char_kernel_size: int = 3,
    char_encoder: str = "cnn",
    char_units: int = 25,
    shape_dim: int = 8,
    lstm_units: int = 200,
    num_layers: int = 1,
    dropout: float = 0.5,
    variational_dropout: bool = False,
) -> keras.Model:
    """[word embedding; char CNN or BiLSTM; word shape] -> BiLSTM x num_layers -> emissions -> CRF.

    Args:
        vocab_size: word vocabulary size (`<PAD>`=0, `<UNK>`=1); words are looked up lower-cased
            because the characters and the shape carry the case.
        char_vocab_size: character vocabulary size (`<PAD>`=0, `<UNK>`=1).
        num_tags: number of tags K.
        embedding_dim: word embedding size.
        char_dim: character embedding size.
        char_filters: character CNN filters (the size of the character feature of a word).
        char_kernel_size: characters each filter sees.
        char_encoder: "cnn" (Ma & Hovy 2016: `CharCNN`, `char_filters` features), "bilstm"
            (Lample et al. 2016: `CharBiLSTM`, the final states of `char_units` per direction), or
            "cnn+bilstm", both side by side (each with its own character embedding).
        char_units: units of each direction of the character BiLSTM.
        shape_dim: word-shape embedding size.
        lstm_units: units of each LSTM direction.
        num_layers: stacked bidirectional layers.
        dropout: dropout on the concatenated features and after each recurrent layer.
        variational_dropout: drop the same features at every token of a sentence (variational
            dropout; Reimers & Gurevych 2017 found it helps BiLSTM-CRF taggers) instead of anew per token.

    Returns:
        An uncompiled functional model whose output is the emission scores (batch, time, K) of
        its final `CRF` layer (named "crf"); compile with `zoo.tasks.ner.compile_tagger`.

    Example:
        >>> model = zoo.build("bilstm_crf_ner", vocab_size=20000, char_vocab_size=80, num_tags=9)
    """
    # Inputs
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    char_ids = keras.Input(shape=(None, None), dtype="int32", name="char_ids")
    shape_ids = keras.Input(shape=(None,), dtype="int32", name="shape_ids")
    # Body
    words = token_embedding(token_ids, vocab_size=vocab_size, embedding_dim=embedding_dim)
    chars = char_features(char_ids, encoder=char_encoder, vocab_size=char_vocab_size, char_dim=char_dim,
                          filters=char_filters, kernel_size=char_kernel_size, units=char_units)
    shapes = layers.Embedding(NUM_SHAPES, shape_dim, mask_zero=True, name="shape_embedding")(shape_ids)
    # All three carry the padding mask: Concatenate's is the OR of its inputs', and one without a
    # mask would let the backward LSTM read padding (tags then depended on the batch's longest sentence).
    x = layers.Concatenate(name="token_features")([words, chars, shapes])
    if dropout:
        x = (layers.SpatialDropout1D if variational_dropout else layers.Dropout)(dropout, name="feature_dropout")(x)
    x = recurrent_stack(x, units=lstm_units, num_layers=num_layers, cell="lstm", dropout=dropout,
                        variational=variational_dropout)
    # Head
    emissions = layers.Dense(num_tags, name="emissions")(x)
    emissions = CRF(num_tags, name="crf")(emissions)
    inputs = {"token_ids": token_ids, "char_ids": char_ids, "shape_ids": shape_ids}
    return keras.Model(inputs, emissions, name="bilstm_crf_ner")
