"""What cannot be edited safely, and where to say so: a node shared with other places is
left for the team to change by hand, as an edit there would change those places too."""

from __future__ import annotations

from scorecard.fixes.catalog_edit.errors import CatalogEditError
from scorecard.fixes.catalog_edit.nodes import Node, dotted


def check_editable(node: Node, keys: tuple[str | int, ...], target: str, source: str) -> None:
    """Refuse to change `node` (at `keys`) on the way to setting `target` when it is an
    alias, carries an anchor or takes keys from a merge key."""
    where = dotted(keys)
    if node.kind == "alias":
        raise error_at(
            source,
            f"cannot set {target}: {where} is an alias (*{node.anchor}) of a node shared "
            "with other places; change it by hand",
            node,
        )
    if node.anchor is not None:
        raise error_at(
            source,
            f"cannot set {target}: {where} carries the anchor &{node.anchor}, so it may be "
            "shared with other places; change it by hand",
            node,
        )
    if node.kind == "mapping" and node.has_merge:
        raise error_at(
            source,
            f"cannot set {target}: {where} takes keys from elsewhere with a merge key "
            "(<<); change it by hand",
            node,
        )


def error_at(source: str, reason: str, node: Node | None = None) -> CatalogEditError:
    """An error at the node's line; at its key's, for a mapping's value (a block list
    starts on the line after its key)."""
    if node is None:
        return CatalogEditError(source, reason)
    parent = node.parent
    key = parent.key_of(node) if parent is not None and parent.kind == "mapping" else None
    return CatalogEditError(source, reason, (key or node).line)
