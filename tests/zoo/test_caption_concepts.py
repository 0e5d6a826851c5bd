"""A captioner's encoder trained first to name its images' caption words, and loaded into `cnn_rnn_captioner`."""

import numpy as np
import pytest
from PIL import Image

import zoo
from pipelines.readers.captioned_image import CaptionedImage
from tests.helpers import bars
from zoo.tasks.seq2seq.concepts import concept_targets, concept_vocabulary, train_concept_encoder

WORDS = {0: "a bright row across the noise", 1: "a bright column down the noise", 2: "a bright diagonal line"}
ENCODER = {"input_shape": [8, 8, 3], "filters": [8, 16], "convs_per_block": 1}


def captioned_bars(tmp_path, count, seed):
    images, labels = bars(count, seed=seed)
    out = []
    for i, (image, label) in enumerate(zip(images, labels)):
        path = tmp_path / f"{seed}_{i}.png"
        Image.fromarray(np.repeat(image[..., None], 3, -1)).save(path)
        out.append(CaptionedImage(str(path), (WORDS[int(label)], WORDS[int(label)].replace("bright", "white"))))
    return out


def test_concepts_are_frequent_content_words_and_targets_are_caption_shares():
    images = [CaptionedImage("a.png", ("A dog runs on the grass .", "A brown dog .")),
              CaptionedImage("b.png", ("A child in the snow .", "A dog and a child play .")),
              CaptionedImage("c.png", ("Snow .", "A child and snow ."))]
    words = concept_vocabulary(images, min_images=2)
    assert words == ["child", "dog", "snow"]  # "a", "the", "on", "in", "and" are stopwords; the rest too rare
    targets = concept_targets(images, words)
    np.testing.assert_allclose(targets, [[0.0, 1.0, 0.0], [1.0, 0.5, 0.5], [0.5, 0.0, 1.0]])


def test_a_trained_concept_encoder_initialises_and_freezes_the_captioners_conv_blocks(tmp_path):
    train, dev = captioned_bars(tmp_path, 48, seed=0), captioned_bars(tmp_path, 24, seed=1)
    report = train_concept_encoder(train, dev, ENCODER, path=tmp_path / "encoder.keras", epochs=40, batch_size=16,
                                   learning_rate=0.01, patience=40, verbose=0)
    import keras

    source = keras.models.load_model(tmp_path / "encoder.keras", compile=False)
    # The bar's direction is what the words name: the encoder tells it on images it never saw.
    kinds = [report["concepts"].index(word) for word in ("row", "column", "diagonal")]
    pixels = np.stack([np.asarray(Image.open(image.image), np.float32) / 255.0 for image in dev])
    guessed = source.predict(pixels, verbose=0)[:, kinds].argmax(-1)
    truth = [next(k for k, word in enumerate(("row", "column", "diagonal")) if word in image.captions[0]) for image in dev]
    assert np.mean(guessed == truth) >= 0.8, (guessed, truth, report)
    assert report["dev_auc_first_concepts"]["row"] > 0.8 and report["dev_macro_auc"] > 0.7, report

    model = zoo.build("cnn_rnn_captioner", target_vocab_size=12, embedding_dim=8, units=8, attention_units=8,
                      encoder_weights=str(tmp_path / "encoder.keras"), freeze_encoder=True, **ENCODER)
    blocks = [layer for layer in model.layers if layer.name.startswith("block") and layer.weights]
    assert {layer.name for layer in blocks} == {"block1_1_conv", "block1_1_bn", "block2_1_conv", "block2_1_bn"}
    for layer in blocks:
        assert not layer.trainable
        for mine, theirs in zip(layer.get_weights(), source.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(mine, theirs)
    assert model.get_layer("grid_projection").trainable

    with pytest.raises(ValueError, match="block2_1_conv.*shapes"):
        zoo.build("cnn_rnn_captioner", target_vocab_size=12, input_shape=[8, 8, 3], filters=[8, 32], convs_per_block=1,
                  encoder_weights=str(tmp_path / "encoder.keras"))
    with pytest.raises(ValueError, match="expected a saved Keras model file"):
        zoo.build("cnn_rnn_captioner", target_vocab_size=12, encoder_weights=str(tmp_path / "missing.keras"), **ENCODER)
    with pytest.raises(ValueError, match="needs encoder_weights"):
        zoo.build("cnn_rnn_captioner", target_vocab_size=12, freeze_encoder=True, **ENCODER)
