"""Each task's own command-line options, for `zoo train`, `tune`, `evaluate` and `predict`.

Argparse only, so `zoo --help` imports no TensorFlow. `register_task(..., arguments=...)` ties a
function here to its task and the CLI calls every registered task's function on each of those
parsers; an option two tasks share (`--word-vectors` for NER and sentiment) is added once. Its
`dest` is the keyword of the task's `train`/`tune` options (`Task.options`) where it is one.
"""

from __future__ import annotations

import argparse

# What `--data` takes, task by task.
DATA_HELP = ("FORMAT:PATH with FORMAT one of conll2003, gmb, tsv (token<TAB>tag), or text (plain text, for language "
             "models; data options via --set level=char|word mode=windows|sentences window=N); .gz files are read as they are")
DATA_HELP += ("; sentiment: tweets[/train|dev|test]:POS_CSV,NEG_CSV (NLTK twitter_samples export, fixed 80/10/10 "
              "split, seed 0) or sst2[/train|dev]:TSV (GLUE SST-2; train/dev: the leak-free split of a train file)")
DATA_HELP += ("; images: mnist:DIR, idx:IMAGES,LABELS, cifar10:DIR or folder:DIR (one subfolder per class)")
DATA_HELP += ("; siamese: quora:TSV (is_duplicate, question1, question2, id), mrpc:TXT, sick:TXT or stsb:CSV "
              "pair files (without --dev, 10%% of --data is held out with no question on both sides)")


def add_once(parser: argparse.ArgumentParser, *flags: str, **kwargs) -> None:
    """`parser.add_argument` unless another task added the option already."""
    if not any(flag in parser._option_string_actions for flag in flags):
        parser.add_argument(*flags, **kwargs)


def word_vectors(parser: argparse.ArgumentParser, command: str) -> None:
    if command != "train":
        return
    add_once(parser, "--word-vectors", metavar="PATH|NAME",
             help="NER, sentiment: start the word embedding from pretrained vectors (GloVe, word2vec or fastText "
                  "text format, .gz ok; or glove-6b-50d from the `glove` extra; embedding_dim becomes theirs)")
    add_once(parser, "--vectors-vocab", type=int, default=0, metavar="N",
             help="NER, sentiment: also add the vectors file's first N words to the vocabulary (default 0)")
    add_once(parser, "--freeze-embeddings", action="store_true",
             help="NER, sentiment: keep the pretrained vectors fixed instead of fine-tuning them")


def ner(parser: argparse.ArgumentParser, command: str) -> None:
    if command in ("train", "tune", "evaluate"):
        parser.add_argument("--data-scheme", choices=["iob1", "iob2", "iobes"],
                            help="tag scheme of the files when not their format's own (conll2003: iob1, others: iob2)")
    if command in ("train", "tune"):
        parser.add_argument("--tag-scheme", choices=["iob2", "iobes"], default="iob2",
                            help="NER: tags the model learns (outputs are always IOB2; default iob2)")
        parser.add_argument("--max-length", type=int, default=250,
                            help="NER: training sentences longer than this many tokens are split (default 250)")
        parser.add_argument("--singleton-unk", type=float, default=0.0, metavar="P",
                            help="NER: training shows words seen once as <UNK> with probability P (Lample et al.: 0.5)")
        parser.add_argument("--word-dropout", type=float, default=0.0, metavar="P",
                            help="NER: training shows every other word as <UNK> with probability P (default 0)")
    if command == "train":
        parser.add_argument("--lr-decay", type=float, default=0.0,
                            help="NER: learning rate / (1 + decay * epoch), stepwise (default 0: constant)")
        parser.add_argument("--clipnorm", type=float, default=5.0, help="NER: gradient clipping by global norm (default 5)")
    word_vectors(parser, command)


def sentiment(parser: argparse.ArgumentParser, command: str) -> None:
    word_vectors(parser, command)


def image(parser: argparse.ArgumentParser, command: str) -> None:
    """Image classifiers take only the shared options."""


def language_model(parser: argparse.ArgumentParser, command: str) -> None:
    """Data and training options come through `--set` (see `split_options`); sampling options for `predict`."""
    if command == "predict":
        parser.add_argument("--steps", type=int, default=200, help="language models: tokens to generate (default 200)")
        parser.add_argument("--temperature", type=float, default=0.8,
                            help="language models: sampling temperature, 0 = greedy")
        parser.add_argument("--top-k", type=int, default=0,
                            help="language models: sample among the k likeliest tokens (0 = all)")
        parser.add_argument("--seed", type=int, help="language models: sampling seed (default: random)")


def siamese(parser: argparse.ArgumentParser, command: str) -> None:
    if command not in ("train", "tune"):
        return
    parser.add_argument("--extra", action="append", metavar="FORMAT:PATH",
                        help="Siamese: duplicates from another pair file join training (mrpc, sick, stsb, quora; "
                             "label 1 or score >= 4); repeatable")
    parser.add_argument("--margin", type=float, default=0.25, help="Siamese: triplet-loss margin (default 0.25)")
    parser.add_argument("--threshold-objective", dest="objective", choices=["accuracy", "f1"], default="accuracy",
                        help="Siamese: what the dev-calibrated threshold tau maximises (default accuracy)")
    if command == "train":
        parser.add_argument("--members", type=int, default=1,
                            help="Siamese: train N encoders (seeds SEED, SEED+1, ...) and export them as one ensemble")
