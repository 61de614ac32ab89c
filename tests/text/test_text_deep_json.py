"""A text data row or a model folder's config.json nested 100,000 deep is one readable error
(issue 22), not a RecursionError."""

import pytest

from unlearn_core.errors import DataError, ModelError
from unlearn_core.text.lm import _check_config
from unlearn_core.text.userdata import _jsonl_rows

DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deep_jsonl_row_is_a_data_error():
    with pytest.raises(DataError, match="'facts.jsonl' line 2 is not valid JSON: it nests too "
                                        "deep"):
        _jsonl_rows('{"id": 1, "answer": "a"}\n' + DEEP, "facts.jsonl")


def test_a_deep_model_config_is_a_model_error(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": ' + DEEP + "}")
    with pytest.raises(ModelError, match="config.json' is not valid JSON: it nests too deep"):
        _check_config(tmp_path)
