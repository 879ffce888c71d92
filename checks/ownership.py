"""Ownership: every entity has an owner, the owner is a team, and the team is in the catalog."""

from __future__ import annotations

from scorecard.entity import Entity
from scorecard.inputs import CatalogView
from scorecard.results import Outcome, Result
from scorecard.sdk import check

# Results are built directly, with only the message that applies: these checks run on
# every entity of a catalog.
_PASS = Outcome.PASS
_FAIL = Outcome.FAIL

_SET_OWNER = """Set `spec.owner` in catalog-info.yaml to the group that owns the entity:

    spec:
      owner: group:default/my-team"""


def _no_owner(entity: Entity) -> Result:
    raw = entity.spec.get("owner")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Result.failed(f"{entity.ref} has no owner (spec.owner is not set).")
    return Result.failed(
        f"{entity.ref} has spec.owner {raw!r}, which is not a valid entity ref.", owner=raw
    )


@check(
    id="has_owner",
    title="Has an owner",
    remediation=_SET_OWNER,
    pure=True,
)
def has_owner(entity: Entity) -> Result:
    """The entity names its owner in `spec.owner`, so someone answers for it."""
    owner = entity.owner
    if owner is None:
        return _no_owner(entity)
    return Result(_PASS, f"{entity.ref} is owned by {owner}.", {"owner": owner})


@check(
    id="owner_is_group",
    title="Owned by a group",
    remediation=_SET_OWNER
    + "\n\nA person changes teams and leaves; a group outlives them, so give ownership to a group.",
    pure=True,
)
def owner_is_group(entity: Entity) -> Result:
    """The owner is a group (a team), not a single user. An owner without a kind is a group,
    as in Backstage; an entity without an owner fails."""
    owner = entity.owner
    if owner is None:
        return _no_owner(entity)
    kind = owner.partition(":")[0]
    if kind == "group":
        return Result(
            _PASS,
            f"{entity.ref} is owned by {owner}, a group.",
            {"owner": owner, "owner_kind": kind},
        )
    return Result(
        _FAIL,
        f"{entity.ref} is owned by {owner}, a {kind}, not a group.",
        {"owner": owner, "owner_kind": kind},
    )


@check(
    id="owner_exists",
    title="Owner exists in the catalog",
    remediation="Register the owner in the catalog (a `Group` entity), or fix `spec.owner` "
    "in catalog-info.yaml so that it names an existing group:\n\n"
    "    apiVersion: backstage.io/v1alpha1\n"
    "    kind: Group\n"
    "    metadata:\n"
    "      name: my-team\n"
    "    spec:\n"
    "      type: team\n"
    "      children: []",
)
def owner_exists(entity: Entity, catalog: CatalogView) -> Result:
    """The owner named in `spec.owner` is an entity of the catalog, so the ref is not a typo
    or a team that no longer exists. An entity without an owner fails."""
    owner = entity.owner
    if owner is None:
        return _no_owner(entity)
    return Result.from_bool(
        catalog.get(owner) is not None,
        f"{entity.ref} is owned by {owner}, which is in the catalog.",
        f"{entity.ref} is owned by {owner}, which is not in the catalog.",
        owner=owner,
    )
