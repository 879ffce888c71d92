"""Checks that misbehave, to show that one bad check never stops a run."""

import asyncio
import time

from scorecard.results import Result
from scorecard.sdk import check


@check(id="crashes", title="Crashes", remediation="None.")
def crashes(entity):
    """Raises for every entity."""
    raise RuntimeError(f"cannot handle {entity.name}")


@check(id="hangs", title="Hangs", remediation="None.")
async def hangs(entity):
    """Never finishes."""
    await asyncio.sleep(3600)
    return Result.passed("unreachable")


@check(id="blocks", title="Blocks a thread", remediation="None.", blocking=True)
def blocks(entity):
    """Blocks its worker thread past the timeout."""
    time.sleep(1.5)
    return Result.passed("too late")


@check(id="wrong_type", title="Returns the wrong type", remediation="None.")
def wrong_type(entity):
    """Returns a string instead of a Result."""
    return "looks fine"


@check(id="async_ok", title="Async and fine", remediation="None.")
async def async_ok(entity):
    """Passes after yielding to the loop."""
    await asyncio.sleep(0.01)
    return Result.passed(f"{entity.ref} is fine")


@check(id="repo_identity", title="Reports which Repo it got", remediation="None.")
def repo_identity(repo):
    """Passes, recording the identity of the Repo object it was given."""
    return Result.passed("seen", repo=id(repo))


@check(id="repo_identity_again", title="Reports which Repo it got", remediation="None.")
async def repo_identity_again(repo):
    """The same from an async check."""
    return Result.passed("seen", repo=id(repo))
