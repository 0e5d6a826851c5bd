"""Faults around exports: damaged SavedModels, stale staging folders, export folders that cannot be written."""

import errno
import os
import shutil
import subprocess
import sys
import time

import pytest
import tensorflow as tf

import zoo.export
from zoo.cli import main
from zoo.export import (
    STALE_AFTER_S,
    ExportError,
    _staging_prefix,
    check_export_dir_writable,
    clean_stale_staging,
    export_versioned,
    read_card,
)
from zoo.serving import load

DAMAGED = "is not a readable SavedModel ("


class _Doubler(tf.Module):
    def __init__(self):
        self.w = tf.Variable(tf.fill([16], 2.0))

    @tf.function(input_signature=[tf.TensorSpec([None, 16])])
    def __call__(self, x):
        return {"y": x * self.w}


def _saved_model(path):
    module = _Doubler()
    tf.saved_model.save(module, str(path), signatures=module.__call__)
    return path


@pytest.mark.parametrize("damaged", ["saved_model.pb", "variables/variables.data-00000-of-00001",
                                     "variables/variables.index"])
def test_a_truncated_file_makes_a_one_line_error(tmp_path, damaged):
    export = _saved_model(tmp_path / "m" / "1")
    assert load(export).signatures["serving_default"](tf.ones([1, 16]))["y"].numpy().sum() == 32
    with open(export / damaged, "r+b") as f:
        f.truncate(os.path.getsize(export / damaged) // 2)
    with pytest.raises(zoo.export.ZooError) as caught:
        load(tmp_path / "m")
    message = str(caught.value)
    assert message.startswith(f"{export} {DAMAGED}") and message.endswith("export it again")
    assert "\n" not in message and len(message) < 400


def test_cli_predict_with_a_truncated_export_exits_2(tiny_export, tmp_path, capsys):
    copy = shutil.copytree(tiny_export, tmp_path / "ner" / "1")
    with open(copy / "saved_model.pb", "r+b") as f:
        f.truncate(1000)
    assert main(["predict", str(copy), "Sharon flew to Miami"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zoo: error: {copy} {DAMAGED}") and err.count("\n") == 1


def test_a_truncated_model_card_is_named(tmp_path):
    (tmp_path / "model_card.json").write_text('{"name": "bilstm_n', encoding="utf-8")
    with pytest.raises(zoo.export.ZooError, match="model_card.json: not a readable model card"):
        read_card(tmp_path)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_stale_staging_folders_are_removed_and_running_ones_kept(tmp_path):
    host_prefix = _staging_prefix().rsplit("-", 2)[0]  # .tmp-HOST
    dead = tmp_path / f"{host_prefix}-{_dead_pid()}-abc"
    mine = tmp_path / f"{_staging_prefix()}abc"
    other_host = tmp_path / ".tmp-elsewhere-1-abc"
    old_unnamed = tmp_path / ".tmp-k3j2"
    fresh_unnamed = tmp_path / ".tmp-x9y8"
    version = tmp_path / "1"
    for folder in (dead, mine, other_host, old_unnamed, fresh_unnamed, version):
        folder.mkdir()
        (folder / "saved_model.pb").write_text("x")
    day_ago = time.time() - STALE_AFTER_S - 60
    os.utime(old_unnamed, (day_ago, day_ago))
    assert clean_stale_staging(tmp_path) == sorted([dead, old_unnamed])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (mine, other_host, fresh_unnamed,
                                                                                   version))
    # A day later, nothing but the version and the running export's folder is left.
    assert clean_stale_staging(tmp_path, now=time.time() + STALE_AFTER_S + 60) == sorted([other_host, fresh_unnamed,
                                                                                           mine])


def test_an_export_cleans_up_after_a_killed_one(tmp_path):
    export_versioned(lambda path: None, tmp_path, "m", card={})
    # What `kill -9` during an export leaves: a staging folder named after a process that is gone.
    left = tmp_path / "m" / f"{_staging_prefix().rsplit('-', 2)[0]}-{_dead_pid()}-left"
    left.mkdir()
    (left / "saved_model.pb").write_text("partial")
    export_versioned(lambda path: None, tmp_path, "m", card={})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2"]


def _deny(monkeypatch, code, reason):
    def refuse(*args, **kwargs):
        raise OSError(code, reason)

    monkeypatch.setattr(zoo.export.tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(zoo.export.tempfile, "mkdtemp", refuse)


def test_a_read_only_export_dir_is_refused_before_training(tmp_path, monkeypatch):
    folder = tmp_path / "saved_models"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root writes anyway: make the file system refuse as it would
            _deny(monkeypatch, errno.EACCES, "Permission denied")
        with pytest.raises(ExportError, match=rf"{folder}: cannot write the export there \(Permission denied\); "
                                              "fix its permissions or pass another --export-dir"):
            check_export_dir_writable(folder)
        with pytest.raises(ExportError, match="Permission denied"):
            export_versioned(lambda path: None, folder, "m", card={})
    finally:
        folder.chmod(0o755)


def test_an_export_dir_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match=r"file/saved_models: cannot write the export there \(Not a directory\)"):
        check_export_dir_writable(tmp_path / "file" / "saved_models")


def test_a_full_disk_is_refused_before_training(tmp_path, monkeypatch):
    assert check_export_dir_writable(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"
    with pytest.raises(ExportError, match=r"MB free, the export needs about 1000000000.0 MB; free some space"):
        check_export_dir_writable(tmp_path, need_bytes=10**15)
    _deny(monkeypatch, errno.ENOSPC, "No space left on device")
    with pytest.raises(ExportError, match=r"\(No space left on device\); free some space or pass another"):
        check_export_dir_writable(tmp_path)


def test_a_disk_that_fills_during_the_export_publishes_nothing(tmp_path):
    def fill(path):
        open(os.path.join(path, "saved_model.pb"), "w").close()
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ExportError, match=r"m: cannot write the export there \(No space left on device\)"):
        export_versioned(fill, tmp_path, "m", card={})
    assert list((tmp_path / "m").iterdir()) == []


def test_read_request_names_a_missing_file_and_bytes_that_are_not_utf8(tmp_path):
    import io

    from zoo.serving import read_request

    (tmp_path / "ok.json").write_text('{"instances": ["Zoë"]}', encoding="utf-8")
    assert read_request(str(tmp_path / "ok.json")) == '{"instances": ["Zoë"]}'
    assert read_request("-", io.BytesIO(b'{"inputs": []}')) == '{"inputs": []}'
    with pytest.raises(zoo.export.ZooError, match=r"missing.json: cannot read the request body \(No such file"):
        read_request(str(tmp_path / "missing.json"))
    with pytest.raises(zoo.export.ZooError, match=r"cannot read the request body \(Is a directory\)"):
        read_request(str(tmp_path))
    (tmp_path / "latin1.json").write_bytes('{"instances": ["Zoë"]}'.encode("latin1"))
    with pytest.raises(zoo.export.ZooError, match=r"latin1.json: expected a UTF-8 JSON request body, got the byte "
                                                  r"b'\\xeb' at byte 19"):
        read_request(str(tmp_path / "latin1.json"))
    with pytest.raises(zoo.export.ZooError, match="standard input: expected a UTF-8"):
        read_request("-", io.BytesIO(b"\xff"))
