"""The title and Markdown body of a fix pull request.

The body says, per entity, which checks the pull request fixes, the level it goes from
and to, where its scorecard page is, and what is left to do by hand (with the check's
remediation). Titles and remediations come from the track files; anything that comes from
catalog data or from a failure's message is escaped, so that it shows as text and pings
no one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from scorecard.fixes.plan import EntityFixPlan
from scorecard.tracks import Track

# GitHub refuses a body longer than 65,536 characters; what does not fit is counted.
MAX_BODY = 60_000
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+!|~@])")


def escaped(text: str) -> str:
    """`text` shown as itself in Markdown, on one line: no link, heading or mention."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def entity_page(public_url: str | None, ref: str) -> str | None:
    """The entity's page on the scorecard server (`/catalog/KIND/NAMESPACE/NAME`)."""
    if not public_url:
        return None
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    path = "/".join(quote(part, safe="") for part in (kind, namespace, name))
    return f"{public_url.rstrip('/')}/catalog/{path}"


@dataclass(frozen=True)
class EntitySection:
    """What one entity brings to a pull request."""

    plan: EntityFixPlan
    page: str | None
    # Fixes whose catalog edits are not in the pull request, with why (check id → reason).
    left_out: dict[str, str]


def title(track: Track, level: str | None, check_ids: Sequence[str]) -> str:
    if level is not None:
        return f"scorecard: reach {_level_title(track, level)} on {track.title}"
    titles = [_check_title(track, check_id) for check_id in check_ids]
    named = ", ".join(titles) if len(titles) <= 3 else f"{len(titles)} checks"
    return f"scorecard: fix {named} on {track.title}"


def body(
    track: Track,
    level: str | None,
    sections: Sequence[EntitySection],
    *,
    branch: str,
    public_url: str | None,
) -> str:
    goal = (
        f"reach **{escaped(_level_title(track, level))}** on {escaped(track.title)}"
        if level is not None
        else f"pass the checks named below on {escaped(track.title)}"
    )
    intro = (
        f"This pull request makes the changes scorecard's golden paths prescribe so that "
        f"the entities below {goal}."
    )
    footer = [
        "---",
        # The branch is a workspace setting (`fixes.branch`), restricted to branch-name
        # characters, so it is shown as it is.
        f"This pull request is kept up to date by scorecard: each time the fixes of "
        f"{escaped(track.title)} are opened again it is updated in place, from the branch "
        f"`{branch}`, rather than another one opened (one per repository). Commits pushed "
        "to that branch by hand are replaced then; close the pull request if these "
        "changes are not for this repository.",
    ]
    if public_url is None:
        footer.append("(The scorecard server has no `public_url`, so no page is linked.)")
    parts, used = [intro], len(intro) + sum(len(line) for line in footer)
    for index, section in enumerate(sections):
        text = _section(track, section)
        if used + len(text) > MAX_BODY:
            rest = len(sections) - index
            parts.append(f"… and {rest} more {'entity' if rest == 1 else 'entities'}.")
            break
        parts.append(text)
        used += len(text)
    return "\n\n".join([*parts, *footer]) + "\n"


def _section(track: Track, section: EntitySection) -> str:
    plan = section.plan
    name = f"`{plan.entity_ref}`"
    heading = f"### [{name}]({section.page})" if section.page else f"### {name}"
    lines = [heading, "", _levels(track, plan), "", "Fixed here:"]
    for fix in plan.fixes:
        line = f"- {escaped(fix.check_title)} (`{fix.check_id}`): {escaped(fix.title)}"
        reason = section.left_out.get(fix.check_id)
        if reason is not None:
            line += f" — its catalog edit is not in this pull request: {escaped(reason)}"
        lines.append(line)
    if plan.unfixed:
        lines += ["", "Left to do by hand:"]
        for unfixed in plan.unfixed:
            lines.append(
                f"- {escaped(unfixed.title)} (`{unfixed.check_id}`): {escaped(unfixed.reason)}"
            )
            # The track's own Markdown, indented into the item (its code blocks too).
            remediation = unfixed.remediation.strip().splitlines()
            if remediation:
                lines += ["", *(f"  {line}" if line.strip() else "" for line in remediation)]
    return "\n".join(lines)


def _levels(track: Track, plan: EntityFixPlan) -> str:
    before = _shown_level(track, plan.level_before)
    after = _shown_level(track, plan.level_after)
    if plan.level_after == plan.level_before:
        return f"Level on {escaped(track.title)}: **{before}**, unchanged by this alone."
    return f"Level on {escaped(track.title)}: **{before}** → **{after}** once this is merged."


def _shown_level(track: Track, level: str | None) -> str:
    return escaped(_level_title(track, level)) if level is not None else "no level"


def _level_title(track: Track, level: str) -> str:
    found = next((lvl for lvl in track.levels if lvl.id == level), None)
    return found.title if found is not None else level


def _check_title(track: Track, check_id: str) -> str:
    found = track.find_check(check_id)
    return found.title if found is not None else check_id
