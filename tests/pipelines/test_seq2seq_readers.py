"""Readers of translation pairs (line-aligned files, TSV pairs) and of Flickr8k captions, on tiny files."""

from pathlib import Path

import pytest

from pipelines.errors import DataError
from pipelines.readers.captioned_image import CaptionedImage
from pipelines.readers.flickr8k import read_flickr8k
from pipelines.readers.parallel import read_parallel, read_parallel_spec
from pipelines.readers.parallel_pair import ParallelPair
from pipelines.readers.seq2seq_formats import CAPTION_FORMATS, TRANSLATION_FORMATS
from pipelines.readers.tsv_pairs import read_tsv_pairs
from tests.helpers import write_text as write

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def test_parallel_files_give_aligned_pairs_plain_or_gzipped(tmp_path):
    en = write(tmp_path, "train.en.gz", "A dog runs.\nTwo men talk.\n", compress=True)
    de = write(tmp_path, "train.de", "Ein Hund rennt.\r\nZwei Männer reden.\r\n")
    assert read_parallel(en, de) == [ParallelPair("A dog runs.", "Ein Hund rennt."),
                                     ParallelPair("Two men talk.", "Zwei Männer reden.")]
    assert read_parallel_spec(f"{en},{de}") == read_parallel(en, de)
    assert TRANSLATION_FORMATS["parallel"](f"{en},{de}") == read_parallel(en, de)


def test_parallel_line_count_mismatch_names_both_files_and_the_line(tmp_path):
    en = write(tmp_path, "a.en", "one\ntwo\nthree\n")
    de = write(tmp_path, "a.de", "eins\nzwei\n")
    with pytest.raises(DataError) as info:
        read_parallel(en, de)
    assert info.value.path == de and info.value.line == 3
    assert f"{en!r} has 3 lines, {de!r} only 2" in str(info.value)
    with pytest.raises(DataError, match="has 3 lines") as info:
        read_parallel(de, en)
    assert info.value.path == de and info.value.line == 3


def test_parallel_empty_line_on_one_side_is_an_error_naming_the_files_and_the_line(tmp_path):
    en = write(tmp_path, "a.en", "one\ntwo\n\n")
    de = write(tmp_path, "a.de", "eins\n \nzwei\n")
    with pytest.raises(DataError) as info:
        read_parallel(en, de)
    assert info.value.path == de and info.value.line == 2
    assert repr(en) in info.value.message and "empty line" in info.value.message


def test_parallel_skips_lines_blank_on_both_sides_and_needs_some_pairs(tmp_path):
    en = write(tmp_path, "a.en", "one\n\ntwo\n")
    de = write(tmp_path, "a.de", "eins\n\nzwei\n")
    assert [p.target for p in read_parallel(en, de)] == ["eins", "zwei"]
    blank = write(tmp_path, "blank", "\n\n")
    with pytest.raises(DataError, match="only blank lines"):
        read_parallel(blank, blank)
    with pytest.raises(DataError, match="'SOURCE,TARGET'"):
        read_parallel_spec(en)


def test_tsv_pairs_read_the_anki_format_and_ignore_the_attribution(tmp_path):
    path = write(tmp_path, "deu.txt", "Go.\tGeh.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\n"
                                      "\nHi.\tHallo!\n")
    assert read_tsv_pairs(path) == [ParallelPair("Go.", "Geh."), ParallelPair("Hi.", "Hallo!")]
    assert TRANSLATION_FORMATS["tsv-pairs"](path) == read_tsv_pairs(path)


@pytest.mark.parametrize("text, line, message", [
    ("Go.\tGeh.\nHi.\n", 2, "expected 2 to 3 tab-separated fields"),
    ("Go.\t \n", 1, "expected text in column target"),
    ("a\tb\tc\td\n", 1, "got 4"),
])
def test_tsv_pairs_errors_are_located_by_line(tmp_path, text, line, message):
    with pytest.raises(DataError, match=message) as info:
        read_tsv_pairs(write(tmp_path, "deu.txt", text))
    assert info.value.line == line


@pytest.fixture
def flickr(tmp_path):
    (tmp_path / "images").mkdir()
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / "images" / name).write_bytes(b"\xff\xd8")
    return tmp_path


def test_flickr8k_csv_and_token_files_group_captions_by_image(flickr):
    csv_path = write(flickr, "captions.txt", 'image,caption\na.jpg,A dog .\nb.jpg,"A cat, asleep ."\na.jpg,Dog runs .\n')
    images = str(flickr / "images")
    expected = [CaptionedImage(f"{images}/a.jpg", ("A dog .", "Dog runs .")),
                CaptionedImage(f"{images}/b.jpg", ("A cat, asleep .",))]
    assert read_flickr8k(csv_path) == expected
    token_path = write(flickr, "Flickr8k.token.txt.gz", "a.jpg#0\tA dog .\nb.jpg#0\tA cat, asleep .\na.jpg#1\tDog runs .\n",
                       compress=True)
    assert read_flickr8k(token_path, images=images) == expected
    assert CAPTION_FORMATS["flickr8k"](csv_path) == expected


def test_flickr8k_missing_images_fail_or_are_skipped(flickr):
    path = write(flickr, "Flickr8k.token.txt", "a.jpg#0\tA dog .\nc.jpg.1#0\tNothing .\n")
    with pytest.raises(DataError, match="image 'c.jpg.1' is not in the folder") as info:
        read_flickr8k(path)
    assert info.value.line == 2
    assert [len(c.captions) for c in read_flickr8k(path, skip_missing=True)] == [1]


@pytest.mark.parametrize("text, line, message", [
    ("image, caption\na.jpg,A dog .\n", 1, "expected 'IMAGE#N<TAB>caption' .* header 'image,caption'"),
    ("image,caption\na.jpg\n", 2, "expected 2 comma-separated fields"),
    ("image,caption\na.jpg, \n", 2, "expected a caption for 'a.jpg'"),
])
def test_flickr8k_csv_errors_are_located_by_line(flickr, text, line, message):
    with pytest.raises(DataError, match=message) as info:
        read_flickr8k(write(flickr, "captions.csv", text), images=flickr / "images")
    assert info.value.line == line


def test_flickr8k_needs_an_image_folder(tmp_path):
    path = write(tmp_path, "captions.txt", "image,caption\na.jpg,A dog .\n")
    with pytest.raises(DataError, match="expected an image folder beside it"):
        read_flickr8k(path)


@pytest.mark.skipif(not (DATASETS / "multi30k").is_dir(), reason="the Multi30k copy is not here")
def test_real_multi30k_validation_and_flickr8k_subset():
    multi30k = DATASETS / "multi30k"
    pairs = read_parallel(multi30k / "val.en.gz", multi30k / "val.de.gz")
    assert len(pairs) == 1014
    images = read_flickr8k(DATASETS / "flickr8k_1k" / "captions.txt")
    assert len(images) == 800 and {len(i.captions) for i in images} == {5}
