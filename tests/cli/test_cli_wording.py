"""Issue 13's command-line wording: unknown class names, integer parameters, defaults in
--help, and a way to list the ids a forget request can name."""

from __future__ import annotations

import pytest

from unlearn_core.cli.main import main


def test_unknown_class_name_is_named_with_the_class_list(capsys, digits):
    from unlearn_core.data.forget import resolve_forget
    from unlearn_core.errors import ForgetSetError

    ds, splits = digits
    with pytest.raises(ForgetSetError) as err:
        resolve_forget(ds, splits, "class:gama")
    text = str(err.value)
    assert "unknown class 'gama'" in text and "whole numbers" not in text
    assert ", ".join(ds.class_names) in text
    assert resolve_forget(ds, splits, f"class:{ds.class_names[3]}").classes == (3,)


def test_integer_hyperparameter_error_says_integer_words():
    from unlearn_core.errors import MethodError
    from unlearn_core.methods import make_method

    with pytest.raises(MethodError) as err:
        make_method("finetune", epochs="abc")
    assert "a int" not in str(err.value)


def test_audit_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for flag, default in (("--dataset", "digits"), ("--model", "cnn"), ("--forget", "class:3"),
                          ("--method", "finetune"), ("--seed", "0"), ("--mia-score", "loss")):
        after = out.split(flag, 2)[2]  # the options list, past the usage line
        assert f"(default: {default})" in after.split(" --")[0], flag


def test_ids_lists_training_ids_that_a_forget_request_accepts(capsys, digits):
    from unlearn_core.data.forget import resolve_forget

    assert main(["ids", "--dataset", "digits", "--split", "train"]) == 0
    ids = [int(line) for line in capsys.readouterr().out.split()]
    ds, splits = digits
    assert sorted(ids) == sorted(ds.ids[splits.train].tolist())
    fs = resolve_forget(ds, splits, "ids:" + ",".join(map(str, ids[:3])))
    assert len(fs.forget) == 3
    assert main(["ids", "--dataset", "wine", "--split", "test", "--with-class"]) == 0
    first = capsys.readouterr().out.splitlines()[0].split("\t")
    assert len(first) == 2 and first[1].startswith("class_")
