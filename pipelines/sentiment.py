"""The sentiment pipeline: raw texts -> tweet-aware tokens -> padded (token_ids, label) batches.

`tokenize_tweets` is the one normalisation that training and the exported graph both run
(TensorFlow core ops only). It lowercases, unescapes Twitter's HTML
entities, keeps URLs, @handles, #hashtags and emoticons as single tokens (URLs become `<url>`,
handles `<user>`, emoticons a canonical form: `:-)))` and `: )` are `:)`), splits other
punctuation and symbols (emoji included) into tokens of their own and keeps apostrophes inside
words (`don't`, SST-2's `n't`). A text without tokens becomes the one token `<empty>`.

Data specs name a format, an optional split and the files:

- `tweets:POS_PATH,NEG_PATH` the NLTK `twitter_samples` CSV exports; `tweets/train`, `/dev` and
  `/test` take the fixed 80/10/10 split (seed 0) of the 10,000 tweets.
- `sst2:PATH` a GLUE SST-2 TSV; `sst2/train` and `sst2/dev` the leak-free split of a train file
  (`sst2_leak_free_split`).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf

from pipelines.batching import bucket_by_length, quantile_boundaries
from pipelines.errors import DataError
from pipelines.readers.spec import parse_spec
from pipelines.readers.sst2_tsv import read_sst2_tsv
from pipelines.readers.tweets_csv import read_tweets_csv
from pipelines.text import SPACES
from pipelines.vocab import Vocabulary, build_vocabulary

CLASS_NAMES = ("negative", "positive")
SPLIT_SEED = 0  # the splits are fixed: a training seed changes weights and shuffling, never the data
EMPTY = "<empty>"  # the one token of a text that has none

# ----------------------------------------------------------------------------- tokenization

_EYES = r"[:;=]"
_MOUTHS = r"[)(\]\[dpo/\\|*]"  # lowercase: ":D" and ":P" arrive as ":d" and ":p"
_TEAR_NOSE = r"['´]?[-o^]?"
_URL = r"https?://[\w./?=&%#~+-]+|www\.[\w./?=&%#~+-]+"  # no ":" or "(": "http://t.co/x:(" ends at x
_HANDLE = r"@\w+"
_HASHTAG = r"#[\pL\pN_]+"
_EMOTICON = "|".join([
    rf"{_EYES}{_TEAR_NOSE}{_MOUTHS}+",  # :) :-) :'( :dd ;p
    rf"[)(]+-?{_EYES}",  # (: ):
    r"</?3+",  # <3 </3
    r"\^[_.-]?\^|-_+-",  # ^_^ ^^ -_-
])
# Kept whole as tokens, tried in this order at each position; whitespace separates the rest.
_KEPT = "|".join([_URL, _HANDLE, _HASHTAG, _EMOTICON, r"\B'|'\B", rf"[^\pL\pN'{SPACES}]"])
_SPACED_EMOTICON = (rf"({_EYES}) ([)(])", r"\1\2")  # ": )" typed with a space
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_CANONICAL = (
    (rf"^(?:{_URL})$", "<url>"),
    (rf"^{_HANDLE}$", "<user>"),
    (rf"^({_EYES}){_TEAR_NOSE}({_MOUTHS}){_MOUTHS}*$", r"\1\2"),
    (rf"^([)(])[)(]*-?({_EYES})$", r"\1\2"),
    (r"^<3+$", "<3"),
    (r"^</3+$", "</3"),
)


def tokenize_tweets(texts) -> tf.RaggedTensor:
    """A 1-D batch of raw texts -> (batch, None) ragged string tokens, normalised as above.

    Example: `"Top engaged @PKuchly57 :-))) http://t.co/x"` -> `["top", "engaged", "<user>", ":)", "<url>"]`.
    """
    texts = tf.strings.lower(tf.convert_to_tensor(texts, dtype=tf.string), encoding="utf-8")
    for entity, char in _ENTITIES:
        texts = tf.strings.regex_replace(texts, entity, char)
    texts = tf.strings.regex_replace(texts, *_SPACED_EMOTICON)
    texts = tf.strings.regex_replace(texts, _KEPT, r" \0 ")
    # Every space becomes " " before splitting at ASCII whitespace.
    texts = tf.strings.regex_replace(texts, rf"[{SPACES}]", " ")
    # Models pool over real tokens, so a text without any gets one.
    tokens = tf.strings.split(tf.strings.regex_replace(texts, r"^ *$", EMPTY))
    flat = tokens.flat_values
    for pattern, rewrite in _CANONICAL:
        flat = tf.strings.regex_replace(flat, pattern, rewrite)
    return tokens.with_flat_values(flat)


def tweet_token_lists(texts: Sequence[str], *, batch_size: int = 4096) -> list[list[str]]:
    """`tokenize_tweets` for Python strings (the very same ops), e.g. to build a vocabulary."""
    result: list[list[str]] = []
    for start in range(0, len(texts), batch_size):
        tokens = tokenize_tweets(tf.constant(list(texts[start:start + batch_size]), dtype=tf.string))
        result.extend([t.decode("utf-8") for t in row] for row in tokens.to_list())
    return result


def sentiment_vocabulary(texts: Sequence[str], *, min_count: int = 1, max_size: int | None = None) -> Vocabulary:
    """`<PAD>`, `<UNK>`, then the tokens of `texts` by frequency (see `build_vocabulary`)."""
    return build_vocabulary(tweet_token_lists(texts), min_count=min_count, max_size=max_size)


def token_ids(texts, table: tf.lookup.StaticHashTable) -> tf.RaggedTensor:
    """Ragged int32 ids of the tokens of raw texts (`tokenize_tweets`, then `table`)."""
    return tf.cast(table.lookup(tokenize_tweets(texts)), tf.int32)


# ----------------------------------------------------------------------------- labelled data


@dataclasses.dataclass(frozen=True)
class LabelledTexts:
    """Texts with class ids (0 negative, 1 positive) and where they came from."""

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    source: str = ""

    def __post_init__(self):
        if len(self.texts) != len(self.labels):
            raise ValueError(f"Expected one label per text. "
                             f"Received: {len(self.texts)} texts, {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices, source: str) -> "LabelledTexts":
        return LabelledTexts(tuple(self.texts[i] for i in indices), tuple(self.labels[i] for i in indices), source)


def fixed_split(size: int, *, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> list[np.ndarray]:
    """Index arrays of a seeded random partition of `range(size)`, in the given fractions.

    The last part takes what rounding leaves, e.g. 10,000 -> 8,000 / 1,000 / 1,000.
    """
    if not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(f"fractions must be non-negative and sum to 1. Received: fractions={list(fractions)}")
    order = np.random.default_rng(seed).permutation(size)
    cuts = np.round(np.cumsum(fractions)[:-1] * size).astype(int)
    return [np.sort(part) for part in np.split(order, cuts)]


def sst2_leak_free_split(
    texts: Sequence[str], *, dev_fraction: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Train and dev indices of an SST-2 train file with no dev text inside a training phrase.

    SST-2's train file holds every labelled phrase of its sentences, so a random dev split has
    most of its phrases, word for word, inside training phrases. Dev here is `dev_fraction` of
    the whole sentences (the phrases contained in no other phrase, `seed`), and train keeps only
    the phrases that are contained in no dev sentence. Containment is of whole tokens: "a b"
    is inside "x a b", "a" is not inside "ab".

    Returns:
        (train indices, dev indices, counts for a report).
    """
    phrases = [tuple(text.split()) for text in texts]
    sentences = sorted(_sentences_and_spans(phrases)[0])
    if len(sentences) < 2:
        raise DataError(None, None, f"cannot hold out dev sentences from {len(sentences)} whole sentence(s)")
    rng = np.random.default_rng(seed)
    count = min(max(1, round(dev_fraction * len(sentences))), len(sentences) - 1)
    dev_sentences = {sentences[i] for i in rng.choice(len(sentences), count, replace=False)}
    leaked = _sentences_and_spans(dev_sentences)[1]
    first = {}
    for i, phrase in enumerate(phrases):
        first.setdefault(phrase, i)
    dev = np.array(sorted(first[p] for p in dev_sentences))
    train = np.array([i for i, p in enumerate(phrases) if p not in leaked])
    info = {"phrases": len(phrases), "whole_sentences": len(sentences), "dev_sentences": len(dev),
            "train_phrases": len(train), "dropped_phrases": len(phrases) - len(train)}
    return train, dev, info


def inside_any(texts: Sequence[str], containers: Sequence[str]) -> np.ndarray:
    """Whether each text appears word for word (whole tokens) inside one of `containers`, itself included."""
    spans = _sentences_and_spans(tuple(c.split()) for c in containers)[1]
    return np.array([tuple(text.split()) in spans for text in texts], dtype=bool)


def _sentences_and_spans(phrases) -> tuple[list, set]:
    """The phrases inside no other phrase, and every token span of every phrase.

    Longest first: a phrase inside another is inside a whole sentence, whose spans are known by then.
    """
    sentences, spans = [], set()
    for phrase in sorted(set(phrases), key=lambda p: (-len(p), p)):
        if phrase not in spans:
            sentences.append(phrase)
            spans.update(_spans(phrase))
    return sentences, spans


def _spans(tokens: tuple[str, ...]):
    """Every contiguous run of tokens, the whole included."""
    n = len(tokens)
    return (tokens[i:j] for i in range(n) for j in range(i + 1, n + 1))


def _read_tweets(paths: str) -> LabelledTexts:
    pos_path, comma, neg_path = paths.partition(",")
    if not comma or not pos_path or not neg_path:
        raise DataError(None, None, f"expected 'tweets:POS_PATH,NEG_PATH', got paths {paths!r}")
    positive, negative = read_tweets_csv(pos_path), read_tweets_csv(neg_path)
    return LabelledTexts((*positive, *negative), (1,) * len(positive) + (0,) * len(negative), paths)


def _read_sst2(path: str) -> LabelledTexts:
    texts, labels = read_sst2_tsv(path)
    return LabelledTexts(tuple(texts), tuple(labels), path)


FORMATS = {"tweets": _read_tweets, "sst2": _read_sst2}
SPLITS = {"tweets": ("train", "dev", "test"), "sst2": ("train", "dev")}


def split_data(data: LabelledTexts, name: str, split: str) -> LabelledTexts:
    """One split of a format's files: tweets 80/10/10, SST-2 leak-free; both fixed by seed `SPLIT_SEED`."""
    _check_split(name, split)
    if name == "tweets":
        parts = dict(zip(SPLITS[name], fixed_split(len(data), seed=SPLIT_SEED)))
    else:
        parts = dict(zip(SPLITS[name], sst2_leak_free_split(data.texts, seed=SPLIT_SEED)[:2]))
    return data.take(parts[split], f"{name}/{split}:{data.source}")


def _check_split(name: str, split: str) -> None:
    if split not in SPLITS[name]:
        raise DataError(None, None, f"expected a split of {name!r} among {list(SPLITS[name])}, got {split!r}")


def read_sentiment(spec: str) -> LabelledTexts:
    """Reads `FORMAT[/SPLIT]:PATHS` (see the module docstring), e.g. `tweets/test:pos.csv.gz,neg.csv.gz`."""
    name, split, paths = parse_spec(spec, FORMATS, splits=True)
    if split is not None:
        _check_split(name, split)  # before reading what may be large files
    data = FORMATS[name](paths)
    return data if split is None else split_data(data, name, split)


# ----------------------------------------------------------------------------- tf.data


def sentiment_dataset(
    data: LabelledTexts,
    vocab: Vocabulary,
    *,
    batch_size: int = 64,
    num_buckets: int = 1,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of `(token_ids, labels)`: int32 (batch, longest text in the batch) and int32 (batch,).

    Args:
        data: texts and labels.
        vocab: the token vocabulary (`<PAD>`=0, `<UNK>`=1).
        batch_size: examples per batch.
        num_buckets: length buckets (quantile boundaries); 1 pads each random batch to its longest text.
        shuffle: reshuffle every epoch (training); off for evaluation, which keeps the file order
            when `num_buckets` is 1.
        seed: shuffling seed.
    """
    if not len(data):
        raise DataError(data.source or None, None, "no texts to build a dataset from")
    ids = token_ids(tf.constant(data.texts, dtype=tf.string), vocab.table())
    lengths = ids.row_lengths().numpy()
    boundaries = quantile_boundaries(lengths, num_buckets)
    dataset = tf.data.Dataset.from_tensor_slices((ids, tf.constant(data.labels, dtype=tf.int32)))
    # Slices of a ragged tensor come out ragged; padded batching wants plain tensors.
    dataset = dataset.map(lambda x, y: (tf.ensure_shape(x, [None]), y)).cache()
    if shuffle:
        dataset = dataset.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    dataset = bucket_by_length(dataset, length_fn=lambda x, _: tf.shape(x)[0], boundaries=boundaries,
                               batch_size=batch_size, padding_values=(0, 0), lengths=lengths)
    return dataset.prefetch(tf.data.AUTOTUNE)
