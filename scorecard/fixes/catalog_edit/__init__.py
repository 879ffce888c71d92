"""Edit one entity's document in a catalog-info.yaml, and nothing else of the file.

A fix sets an annotation, a label or a field, or adds a tag; the team's file must come back
as they wrote it, with only those lines changed: comments, blank lines, quoting, key order,
flow collections, the other documents and their markers, CRLF line ends, a missing last
newline. A round trip through a YAML library promises none of that, so the file is never
written out again: new text is spliced in at the positions of the document's nodes.

Before it is returned, the result is checked twice: every line outside the changed ones is
byte-for-byte the same (difflib), and the edited file, read again, holds exactly the
expected document. What cannot be edited safely (a shared node, a merge key, a value in
the way, broken YAML, a document over the catalog's limits) is a `CatalogEditError`.

The steps, one module each: `document` finds the entity's document, `nodes` reads it as
positioned nodes, `plan` gathers what changes where, `render` turns that into splices
(`layout`: in the file's own style; `value_text`: each new key and value), `splicing`
applies them and checks the lines, `expected` checks what the edited file reads as.
"""

from __future__ import annotations

from scorecard.catalog.safe_yaml import parse_documents as _parse_documents
from scorecard.fixes.catalog_edit.document import encode as _encode
from scorecard.fixes.catalog_edit.document import find_document as _find_document
from scorecard.fixes.catalog_edit.errors import CatalogEditError
from scorecard.fixes.catalog_edit.expected import check_reads_back as _check_reads_back
from scorecard.fixes.catalog_edit.nodes import compose as _compose
from scorecard.fixes.catalog_edit.plan import Plan as _Plan
from scorecard.fixes.catalog_edit.render import render as _render
from scorecard.fixes.catalog_edit.splicing import check_kept_lines as _check_kept_lines

# Looked up here when called, so a test can put a faulty splicer in its place and see the
# checks refuse what it makes.
from scorecard.fixes.catalog_edit.splicing import spliced as _spliced
from scorecard.fixes.model import CatalogChange

__all__ = ["CatalogEditError", "edit_catalog_text"]


def edit_catalog_text(
    text: str, entity: tuple[str, str, str], change: CatalogChange, *, source: str
) -> str:
    """`text` (a catalog file, read with its line ends kept) with `change` made to the
    document of `entity` (kind, namespace, name); `text` itself when nothing is missing.

    Annotations, labels and fields are set (an existing value replaced), tags added unless
    present in any case; missing mappings are created in block style with the document's
    own indentation, or in flow style inside a flow collection. `source` names the file in
    messages. Raises `CatalogEditError`.
    """
    if change.is_empty():
        return text
    content = _encode(text, source)
    documents = _parse_documents(content, source)
    document = _find_document(documents, entity, source)
    root = _compose(text, document, source)
    plan = _Plan(root, document.data, source)
    for key, value in change.annotations.items():
        plan.set(("metadata", "annotations", key), value)
    for key, value in change.labels.items():
        plan.set(("metadata", "labels", key), value)
    plan.add_tags(change.tags)
    for path, value in change.fields.items():
        plan.set(plan.resolve(path), value)
    splices = _render(text, plan)
    if not splices:
        return text
    edited = _spliced(text, splices)
    _check_kept_lines(text, edited, splices, source)
    _check_reads_back(
        edited,
        plan.expected,
        count=len(documents),
        index=document.index,
        line=root.line,
        source=source,
    )
    return edited
