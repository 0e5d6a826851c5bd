"""Each task's own command-line options, for `zoo train`, `tune`, `evaluate` and `predict`.

Argparse only, so `zoo --help` imports no TensorFlow. `register_task(..., arguments=...)` ties a
function here to its task and the CLI calls every registered task's function on each of those
parsers; an option two tasks share (`--word-vectors` for NER and sentiment) is added once. Its
`dest` is the keyword of the task's `train`/`tune` options (`Task.options`) where it is one.
"""

from __future__ import annotations

import argparse

from zoo.cli_types import positive_int, probability

# What `--data` takes, task by task.
DATA_HELP = ("FORMAT:PATH with FORMAT one of conll2003, gmb, tsv (token<TAB>tag), or text (plain text, for language "
             "models); .gz files are read as they are")
DATA_HELP += ("; sentiment: tweets[/train|dev|test]:POS_CSV,NEG_CSV (NLTK twitter_samples export, fixed 80/10/10 "
              "split, seed 0) or sst2[/train|dev]:TSV (GLUE SST-2; train/dev: the leak-free split of a train file)")
DATA_HELP += ("; images: mnist:DIR, idx:IMAGES,LABELS, cifar10:DIR or folder:DIR (one subfolder per class)")
DATA_HELP += ("; siamese: quora:TSV (is_duplicate, question1, question2, id), mrpc:TXT, sick:TXT or stsb:CSV "
              "pair files")
DATA_HELP += ("; translation: parallel:SRC,TGT (line-aligned files) or tsv-pairs:PATH (source<TAB>target[<TAB>...]); "
              "captioning: flickr8k:CAPTIONS (captions.txt CSV or Flickr8k.token.txt, images in images/ beside it)")
# What `zoo train` / `zoo tune` add: options that only they have.
TRAINING_DATA_HELP = (DATA_HELP + "; language models take data options via --set level=char|word mode=windows|sentences "
                      "window=N; without --dev, pair files hold out 10%% of --data with no question on both sides, "
                      "translation 10%% of the pairs, captioning 10%% of the images (with all their captions)")


def add_once(parser: argparse.ArgumentParser, *flags: str, **kwargs) -> None:
    """`parser.add_argument` unless another task added the option already."""
    if not any(flag in parser._option_string_actions for flag in flags):
        parser.add_argument(*flags, **kwargs)


def word_vectors(parser: argparse.ArgumentParser, command: str) -> None:
    if command != "train":
        return
    add_once(parser, "--word-vectors", metavar="PATH|NAME",
             help="NER, sentiment, Siamese: start the word embedding from pretrained vectors (GloVe, word2vec or fastText "
                  "text format, .gz ok; or glove-6b-50d from the `glove` extra; embedding_dim becomes theirs, or "
                  "a larger --set embedding_dim=N adds learned dimensions)")
    add_once(parser, "--vectors-vocab", type=int, default=0, metavar="N",
             help="NER, sentiment, Siamese: also add the vectors file's first N words to the vocabulary (default 0)")
    add_once(parser, "--freeze-embeddings", action="store_true",
             help="NER, sentiment, Siamese: keep the pretrained vectors fixed instead of fine-tuning them")


def max_length(parser: argparse.ArgumentParser) -> None:
    """`--max-length`, shared by NER and translation (`zoo train` and `zoo tune`)."""
    add_once(parser, "--max-length", type=positive_int, default=250,
             help="NER: training sentences longer than this many tokens are split; translation: training pairs "
                  "with a side longer than this many tokens are dropped (default 250)")


def ner(parser: argparse.ArgumentParser, command: str) -> None:
    if command in ("train", "tune", "evaluate"):
        parser.add_argument("--data-scheme", choices=["iob1", "iob2", "iobes"],
                            help="tag scheme of the files when not their format's own (conll2003: iob1, others: iob2)")
    if command in ("train", "tune"):
        parser.add_argument("--tag-scheme", choices=["iob2", "iobes"], default="iob2",
                            help="NER: tags the model learns (outputs are always IOB2; default iob2)")
        max_length(parser)
        parser.add_argument("--singleton-unk", type=probability, default=0.0, metavar="P",
                            help="NER: training shows words seen once as <UNK> with probability P (Lample et al.: 0.5; "
                                 "default 0)")
        parser.add_argument("--word-dropout", type=probability, default=0.0, metavar="P",
                            help="NER: training shows every other word as <UNK> with probability P (default 0)")
    if command == "train":
        parser.add_argument("--lr-decay", type=float, default=0.0,
                            help="NER: learning rate / (1 + decay * epoch), stepwise (default 0: constant)")
        parser.add_argument("--clipnorm", type=float, default=5.0,
                            help="NER, translation, captioning: gradient clipping by global norm (default 5)")
        parser.add_argument("--ema", type=probability, default=0.0, metavar="MOMENTUM",
                            help="NER: keep a moving average of the weights (e.g. 0.99) and make it the model's at "
                                 "every epoch's end, before the dev score (default 0: off)")
        parser.add_argument("--momentum", type=probability, default=0.0,
                            help="NER: train with SGD and this momentum (Ma & Hovy: 0.9 with lr 0.015) instead of Adam "
                                 "(default 0: Adam)")
    word_vectors(parser, command)
    members(parser, command)


def members(parser: argparse.ArgumentParser, command: str) -> None:
    """Tasks that export ensembles (`Task.ensembles`)."""
    if command == "train":
        add_once(parser, "--members", type=positive_int, default=1,
                 help="NER, Siamese, sentiment: train N models (seeds SEED, SEED+1, ...) and export them as one "
                      "ensemble (default 1)")


def sentiment(parser: argparse.ArgumentParser, command: str) -> None:
    word_vectors(parser, command)
    members(parser, command)


def image(parser: argparse.ArgumentParser, command: str) -> None:
    """Image classifiers take only the shared options."""


def language_model(parser: argparse.ArgumentParser, command: str) -> None:
    """Data and training options come through `--set` (see `split_options`); sampling options for `predict`."""
    if command == "predict":
        parser.add_argument("--steps", type=positive_int, default=200, help="language models: tokens to generate (default 200)")
        parser.add_argument("--temperature", type=float, default=0.8,
                            help="language models: sampling temperature, 0 = greedy (default 0.8)")
        parser.add_argument("--top-k", type=int, default=0,
                            help="language models: sample among the k likeliest tokens (0 = all)")
        parser.add_argument("--seed", type=int, help="language models: sampling seed (default: random)")


def siamese(parser: argparse.ArgumentParser, command: str) -> None:
    word_vectors(parser, command)
    if command not in ("train", "tune"):
        return
    parser.add_argument("--extra", action="append", metavar="FORMAT:PATH",
                        help="Siamese: duplicates from another pair file join training (mrpc, sick, stsb, quora; "
                             "label 1 or score >= 4); repeatable")
    parser.add_argument("--margin", type=float, default=0.25, help="Siamese: triplet-loss margin (default 0.25)")
    parser.add_argument("--threshold-objective", dest="objective", choices=["accuracy", "f1"], default="accuracy",
                        help="Siamese: what the dev-calibrated threshold tau maximises (default accuracy)")
    members(parser, command)


def seq2seq(parser: argparse.ArgumentParser, command: str) -> None:
    """Translation and captioning share these options (each registration calls this; `add_once` adds them once)."""
    if command in ("train", "tune"):
        add_once(parser, "--level", choices=["subword", "word"], default="subword",
                 help="translation, captioning: SentencePiece subwords or words (default subword)")
        add_once(parser, "--vocab-size", type=positive_int, default=8000,
                 help="translation, captioning: vocabulary size per encoder, specials included (default 8000)")
        add_once(parser, "--model-type", choices=["unigram", "bpe"], default="unigram",
                 help="translation, captioning: the SentencePiece model (default unigram)")
        add_once(parser, "--joint-vocab", action="store_true",
                 help="translation: one vocabulary fitted on both languages")
        add_once(parser, "--lowercase", action="store_true",
                 help="translation, captioning: lower-case words (word level only; subwords keep case)")
        max_length(parser)
        add_once(parser, "--label-smoothing", type=float, default=0.1,
                 help="translation, captioning: label smoothing of the training loss (default 0.1)")
        add_once(parser, "--beam-width", type=positive_int, default=4,
                 help="translation, captioning: hypotheses the exported beam search keeps (default 4)")
        add_once(parser, "--alpha", type=float, default=0.6,
                 help="translation, captioning: GNMT length-penalty exponent of the beam search (default 0.6)")
        add_once(parser, "--max-decode-length", type=positive_int, default=64,
                 help="translation, captioning: most output pieces the export decodes, <EOS> included (default 64)")
        add_once(parser, "--max-source-length", type=positive_int, default=256,
                 help="translation: the export reads at most this many source pieces (default 256)")
        add_once(parser, "--image-size", type=positive_int, metavar="N",
                 help="captioning: resize images to N x N (default: the model's input_shape)")
    if command in ("evaluate", "predict"):
        add_once(parser, "--greedy", action="store_true",
                 help="translation, captioning: greedy decoding instead of the export's beam search")
