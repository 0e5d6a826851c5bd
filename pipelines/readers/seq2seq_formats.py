"""The data-spec formats of the sequence-to-sequence tasks: `FORMAT` -> reader of the spec's PATH part."""

from __future__ import annotations

from collections.abc import Callable

from pipelines.readers.flickr8k import read_flickr8k
from pipelines.readers.parallel import read_parallel_spec
from pipelines.readers.tsv_pairs import read_tsv_pairs

# `parallel:train.en.gz,train.de.gz`, `tsv-pairs:deu.txt`
TRANSLATION_FORMATS: dict[str, Callable] = {"parallel": read_parallel_spec, "tsv-pairs": read_tsv_pairs}
# `flickr8k:captions.txt` (images in the folder `images/` beside it) or `flickr8k:Flickr8k.token.txt`
CAPTION_FORMATS: dict[str, Callable] = {"flickr8k": read_flickr8k}
