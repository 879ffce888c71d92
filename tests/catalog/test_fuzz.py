"""The catalog file reader against generated YAML: it never raises, and every document of
a file that holds an entity is either read or reported with its index and line."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning

from scorecard.catalog import read_catalog

# Tokens that each stress a part of the reader: YAML 1.1 booleans and numbers, numbers too
# long or too large, impossible dates, unknown and unsafe tags, aliases to anchors that
# may not exist, merge keys, and characters that break the syntax.
_TOKENS = [
    "x", "yes", "No", "null", "~", "0", "01", "0x1F", "0b101", "1:30", "1_000", "3.5",
    ".inf", "-.Inf", ".nan", "1.0e+999", "9" * 5000, "0x" + "f" * 2000,
    "2024-01-01", "2024-02-30", "2001-12-14t21:59:43.10-05:00",
    "!Sub x", "!!binary aGk=", "!!binary a", "!!python/name:os.system", "!!int 12", "!!str 12",
    "!!set {a, b}", "!!omap [a: 1]", "*a", "*b", "&a x", "'quoted'", "''", "[", "}", "-", "?",
    ": x", "%", "@", "`", "\t",
]  # fmt: skip
_KEYS = ["a", "b", "name", "kind", "apiVersion", "<<", "1", "'1'", "? [k]", "2024-01-01", "a"]

scalars = st.one_of(
    st.sampled_from(_TOKENS),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.text(max_size=12).map(json.dumps),  # a double-quoted string
)


def _collections(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    anchor = st.sampled_from(["", "", "&a ", "&b "])
    items = st.lists(children, max_size=5)
    pairs = st.lists(st.tuples(st.sampled_from(_KEYS), children), max_size=5)
    return st.one_of(
        st.tuples(anchor, items).map(lambda t: f"{t[0]}[{', '.join(t[1])}]"),
        st.tuples(anchor, pairs).map(
            lambda t: t[0] + "{" + ", ".join(f"{k}: {v}" for k, v in t[1]) + "}"
        ),
    )


values = st.recursive(scalars, _collections, max_leaves=25)


def _entity(kind: str, name: str, spec: str, extra: str) -> str:
    return (
        f"{{apiVersion: backstage.io/v1alpha1, kind: {kind}, metadata: {{name: {name}, "
        f"description: DOC}}, "
        f"spec: {spec}{extra}}}"
    )


# An entity-like document: `DOC` becomes its index, to tell which document an entity came
# from, and `NAME` a name unique to it, unless the name is generated (often invalid).
entities = st.builds(
    _entity,
    st.sampled_from(["Component", "API", "kind with spaces", "[]"]),
    st.one_of(st.just("NAME"), scalars),
    values,
    st.sampled_from(["", "", ", kind: Group", ", apiVersion: v2", ", spec: {x: 1}"]),
)
documents = st.one_of(entities, entities, values, st.sampled_from(["a: b: c", "{a", "- [x"]))

# Examples hold numbers of thousands of digits on purpose; their repr is long.
pytestmark = pytest.mark.filterwarnings(f"ignore::{HypothesisWarning.__module__}.HypothesisWarning")

_DOCUMENT = re.compile(r"^document (\d+)[ :]")
_ENTITY_LIKE = re.compile(r"^\{(apiVersion|kind):")


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(docs=st.lists(documents, min_size=1, max_size=6), scanned=st.booleans())
def test_every_document_is_read_or_reported(docs: list[str], scanned: bool) -> None:
    texts = [
        doc.replace("NAME", f"name-{i}").replace("DOC", f"doc-{i}") for i, doc in enumerate(docs, 1)
    ]
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "service.yaml"
        file.write_text("".join(f"---\n{text}\n" for text in texts))

        listing = read_catalog([folder] if scanned else [file])

    read = {e.metadata.get("description") for e in listing.entities}
    reported = set()
    for problem in listing.problems:
        assert problem.file == str(file)
        assert problem.line is not None, problem
        found = _DOCUMENT.match(problem.message)
        assert found, problem
        reported.add(int(found.group(1)))
    assert reported <= set(range(1, len(texts) + 1)), (texts, listing.problems)
    if scanned and not any(_ENTITY_LIKE.match(text) for text in texts):
        return  # a file with no entity in it may be passed over in a folder
    for index in range(1, len(texts) + 1):
        assert index in reported or f"doc-{index}" in read, (index, texts[index - 1][:200])
