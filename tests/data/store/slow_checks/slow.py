"""A check that takes as long as it is told to, so that a run can be caught mid-way."""

import asyncio

from pydantic import BaseModel

from scorecard.results import Result
from scorecard.sdk import check


class SleepParams(BaseModel):
    seconds: float


@check(id="sleeps", title="Sleeps", params=SleepParams, remediation="None.")
async def sleeps(params: SleepParams):
    """Passes after `seconds`."""
    await asyncio.sleep(params.seconds)
    return Result.passed(f"slept {params.seconds} s")
