"""The text each new key and value is written as. ruamel.yaml writes it, quoted wherever
YAML 1.1 (scorecard) or 1.2 (Backstage) would read it as something other than the text it
is, and the text is read back by both before it is used."""

from __future__ import annotations

import functools
import io
import math
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from scorecard.catalog.safe_yaml import Loader
from scorecard.entity import shown
from scorecard.fixes.catalog_edit.errors import CatalogEditError
from scorecard.fixes.catalog_edit.expected import same
from scorecard.fixes.catalog_edit.lines import BREAK_CHARS

_NO_WRAP = 2**30  # ruamel's line width: a value is always written on one line


def key_text(key: str, source: str) -> str:
    return value_text(key, source, key)


def value_text(value: Any, source: str, target: str) -> str:
    """The text of a value on one line, readable in block and in flow context."""
    if isinstance(value, dict):
        pairs = [
            f"{value_text(k, source, target)}: {value_text(v, source, target)}"
            for k, v in value.items()
        ]
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(item, source, target) for item in value) + "]"
    if (
        value is None
        or isinstance(value, str | int)
        or (isinstance(value, float) and math.isfinite(value))
    ):
        text = _scalar_text(value)
        if text is not None:
            return text
    raise CatalogEditError(
        source, f"cannot set {target}: the value {shown(value)} cannot be written as YAML"
    )


# A fix sets the same few values on entity after entity; `typed`, as 1, 1.0 and True differ.
@functools.lru_cache(maxsize=1024, typed=True)
def _scalar_text(value: str | int | float | None) -> str | None:
    """ruamel's text for a scalar, or None. ruamel picks the style; a text it would leave
    plain although YAML 1.1 reads it as something else (`yes`, `on`), or would spread over
    lines, is written double-quoted instead."""
    for quoted in (False, True) if isinstance(value, str) else (False,):
        text = _ruamel_text(value, quoted)
        if text is not None and _reads_back(text, value):
            return text
    return None


def _ruamel_text(value: Any, quoted: bool) -> str | None:
    writer = YAML(typ="rt")
    writer.default_flow_style = True
    writer.width = _NO_WRAP
    writer.allow_unicode = True
    out = io.StringIO()
    # Inside a flow list: the text is then valid in flow context (`{a: b}`) as well.
    writer.dump([DoubleQuotedScalarString(value) if quoted else value], out)
    written = out.getvalue()
    if not (written.startswith("[") and written.endswith("]\n")):
        return None
    return written[1:-2]


def _reads_back(text: str, value: Any) -> bool:
    """Whether both YAML 1.1 (scorecard's reader) and 1.2 (ruamel, like Backstage) read
    `text` as `value`, and it is one line."""
    if any(c in text for c in BREAK_CHARS):
        return False
    listed = f"[{text}]"
    try:
        read = [yaml.load(listed, Loader=Loader), YAML(typ="safe", pure=True).load(listed)]
    except Exception:  # any failure to read means the text is not the one to write
        return False
    return all(isinstance(r, list) and len(r) == 1 and same(r[0], value) for r in read)
