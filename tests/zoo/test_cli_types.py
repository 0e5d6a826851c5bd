"""Argument types that phase out bad values in argument parsing: one line, exit 2."""

import argparse
import os

import pytest

from zoo.cli_types import positive_int, utf8_text


@pytest.mark.parametrize("text, value", [("1", 1), ("64", 64), (" 3 ", 3)])
def test_positive_int_accepts_integers_from_1(text, value):
    assert positive_int(text) == value


@pytest.mark.parametrize("text, message", [
    ("0", "expected an integer >= 1, got 0"),
    ("-5", "expected an integer >= 1, got -5"),
    ("2.5", "expected an integer >= 1, got '2.5'"),
    ("many", "expected an integer >= 1, got 'many'"),
])
def test_positive_int_refuses_the_rest(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        positive_int(text)


def test_argparse_turns_them_into_one_line_and_exit_2(capsys):
    parser = argparse.ArgumentParser(prog="zoo train")
    parser.add_argument("--batch-size", type=positive_int)
    parser.add_argument("text", type=utf8_text)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--batch-size", "0", "hi"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "zoo train: error: argument --batch-size: expected an integer >= 1, got 0")


def test_utf8_text_refuses_bytes_that_were_not_utf8():
    assert utf8_text("Sharon flew to Miami") == "Sharon flew to Miami"
    assert utf8_text("Zoë") == "Zoë"
    # What Python makes of the argument $'Sharon \xff\xfe flew' (see os.fsdecode).
    argument = os.fsdecode(b"Sharon \xff\xfe flew")
    with pytest.raises(argparse.ArgumentTypeError,
                       match=r"expected UTF-8 text, got the bytes b'\\xff\\xfe' at character 8 of 'Sharon "):
        utf8_text(argument)
