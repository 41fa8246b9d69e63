"""modelId and modelHash (§5 step 6, §7.5), including the reference's canonical-JSON test vector."""

from __future__ import annotations

import hashlib

import pytest

from flowtime.sim.hashing import canonical_json, model_hash, model_id
from flowtime.sim.yamltext import YamlSyntaxError, load_untyped

# The reference's ArtifactHashingTests base YAML and its canonical form (flowtime-sim.md §2.7).
BASE_YAML = """\
schemaVersion: 1
grid:
  bins: 3
  binSize: 1
  binUnit: hours
nodes:
  - id: source
    kind: const
    values: [1, 2, 3]
outputs:
  - id: result
    source: source
    filename: output.csv
"""
BASE_CANONICAL = (
    '{"grid":{"binSize":"1","binUnit":"hours","bins":"3"},"nodes":[{"id":"source","kind":"const",'
    '"values":["1","2","3"]}],"outputs":[{"filename":"output.csv","id":"result","source":"source"}],'
    '"schemaVersion":"1"}'
)


def test_reference_vector() -> None:
    assert canonical_json(load_untyped(BASE_YAML)) == BASE_CANONICAL
    assert model_hash(BASE_YAML) == "sha256:41912a7a3586c6ab434813579485276c2e48250efdf207f393a4f6f92eaa5e2a"


def test_hash_ignores_comments_quoting_and_layout() -> None:
    relaid = (
        "# a comment\nschemaVersion: '1'\ngrid: {bins: 3, binSize: 1, binUnit: \"hours\"}  # trailing\n"
        "nodes:\n- {id: source, kind: const, values: [1,2,3]}\n"
        "outputs:\n- id: result\n  source: source\n  filename: output.csv\n"
    )
    assert model_hash(relaid) == model_hash(BASE_YAML)


def test_hash_changes_with_any_value_including_number_spelling() -> None:
    assert model_hash(BASE_YAML.replace("[1, 2, 3]", "[1, 2, 4]")) != model_hash(BASE_YAML)
    assert model_hash(BASE_YAML.replace("bins: 3", "bins: 3.0")) != model_hash(BASE_YAML)


def test_canonical_json_escapes_only_what_the_spec_allows() -> None:
    assert canonical_json({"b": ["x\ty", None], "a": 'q"\\\n\r\x08\x1f', "é": "ü"}) == (
        '{"a":"q\\"\\\\\\n\\r\\u0008\\u001f","b":["x\\ty",null],"é":"ü"}'
    )


def test_keys_sort_by_code_point() -> None:
    assert canonical_json({"b": "1", "B": "2", "a": "3"}) == '{"B":"2","a":"3","b":"1"}'


def test_blank_text_is_an_argument_error_and_bad_yaml_a_parse_error() -> None:
    with pytest.raises(ValueError):
        model_hash("  \n")
    with pytest.raises(YamlSyntaxError):
        model_hash("a: {b: 1\n")


def test_model_id_is_the_plain_sha256_of_the_text() -> None:
    assert model_id("bins: 4\n") == hashlib.sha256(b"bins: 4\n").hexdigest()
    assert len(model_id("")) == 64
