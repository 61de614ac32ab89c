"""``audit --dataset facts --model tiny-gpt`` (the issue's command) runs the text track, and a
classifier audit is never routed there."""

from __future__ import annotations

import pytest

from unlearn_core.cli.main import main, text_audit_argv


def test_builtin_text_audit_becomes_text_audit():
    argv = ["audit", "--dataset", "facts", "--model", "tiny-gpt", "--forget", "group:Ann Lee",
            "--seed", "3"]
    assert text_audit_argv(argv) == ["text-audit", "--forget", "group:Ann Lee", "--seed", "3"]


def test_user_files_and_folder_are_passed_on(tmp_path):
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "config.json").write_text("{}")
    argv = ["audit", "--dataset=qa.jsonl", f"--model={tmp_path / 'lm'}", "--forget", "random:2"]
    assert text_audit_argv(argv) == ["text-audit", "--data", "qa.jsonl", "--model",
                                     str(tmp_path / "lm"), "--forget", "random:2"]
    # a folder without config.json is no causal LM: only the .jsonl routes it
    assert text_audit_argv(["audit", "--model", str(tmp_path), "--dataset", "x.csv"]) is None


@pytest.mark.parametrize("argv", [
    ["audit", "--dataset", "digits", "--model", "cnn", "--forget", "class:3"],
    ["audit", "--dataset", "data.csv", "--label-column", "y"],
    ["verify", "report.json"],
    [],
])
def test_classifier_commands_stay(argv):
    assert text_audit_argv(argv) is None


def test_routed_audit_reaches_the_text_track(capsys):
    """Through main: the text track's own one-line error for a group the fact set lacks (the
    classifier audit's report flags --auditor and --no-pdf are understood on the way)."""
    rc = main(["audit", "--dataset", "facts", "--model", "tiny-gpt", "--forget",
               "group:Nobody", "--people", "6", "--attributes", "1", "--epochs", "1",
               "--quiet", "--auditor", "A. Auditor", "--no-pdf"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no trained group 'Nobody'" in err and "\n" not in err


def test_classifier_flag_on_text_audit_is_one_line(capsys):
    rc = main(["audit", "--dataset", "facts", "--forget", "random:1", "--epochs", "1",
               "--attacks", "lira"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--attacks" in err and "\n" not in err
