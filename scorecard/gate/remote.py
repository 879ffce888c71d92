"""Remote gating: ask a running `scorecard serve` for an entity's certification,
optionally after a fresh run of it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from scorecard.entity import parse_ref
from scorecard.gate.model import (
    CheckVerdict,
    GateReport,
    Requirement,
    TrackVerdict,
    leave_out_drafts,
)
from scorecard.problems import ConfigError, Problem
from scorecard.results import Outcome
from scorecard.waivers import Waiver


class Unreachable(Exception):
    """The server could not be reached or did not answer in time (exit 3)."""


class RemoteGate:
    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.server = server.rstrip("/")
        self.timeout = timeout
        self.client = httpx.Client(
            base_url=self.server, headers=headers, timeout=30.0, transport=transport
        )
        self._tracks: dict[str, Any] | None = None

    def __enter__(self) -> RemoteGate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise Unreachable(f"cannot reach {self.server}: {error}") from None
        if response.status_code >= 500:
            raise Unreachable(f"{self.server}{path} answered {response.status_code}")
        if response.status_code in (401, 403):
            detail = _detail(response)
            raise ConfigError([Problem(self.server, f"{path}: {detail}")])
        return response

    def tracks(self) -> dict[str, Any]:
        """The server's tracks by id, as `GET /api/v1/tracks` gives them (asked once)."""
        if self._tracks is None:
            self._tracks = {t["id"]: t for t in self._call("GET", "/api/v1/tracks").json()}
        return self._tracks

    def published(
        self, requirements: Sequence[Requirement], *, skip_drafts: bool
    ) -> tuple[list[Requirement], list[str]]:
        """The requirements on tracks the server has published, and the drafts left out
        (`skip_drafts`) — else a draft is refused. A server older than drafts has none."""
        drafts = {track_id for track_id, t in self.tracks().items() if t.get("draft")}
        return leave_out_drafts(requirements, drafts, skip=skip_drafts, where=self.server)

    def verdicts(
        self, entity_refs: Sequence[str], requirements: Sequence[Requirement], *, allow_errors: bool
    ) -> list[TrackVerdict]:
        tracks = self.tracks()
        _check_requirements(self.server, tracks, requirements)
        self.published(requirements, skip_drafts=False)
        verdicts = []
        for ref in entity_refs:
            kind, rest = ref.split(":", 1)
            namespace, name = rest.split("/", 1)
            response = self._call("GET", f"/api/v1/entities/{kind}/{namespace}/{name}")
            if response.status_code == 404:
                raise ConfigError([Problem(self.server, f"{ref} has not been evaluated there")])
            card = {t["track"]: t for t in response.json()["tracks"]}
            for requirement in requirements:
                scorecard = card.get(requirement.track_id)
                if scorecard is None:
                    raise ConfigError(
                        [
                            Problem(
                                self.server, f"track {requirement.track_id} does not apply to {ref}"
                            )
                        ]
                    )
                verdicts.append(
                    _verdict(
                        ref, tracks[requirement.track_id], scorecard, requirement, allow_errors
                    )
                )
        return verdicts

    def refresh(self, entity_refs: Sequence[str], track_ids: Sequence[str]) -> None:
        """Run the tracks for each entity now and wait for the runs, within the timeout."""
        deadline = time.monotonic() + self.timeout
        for ref in entity_refs:
            body = {"tracks": list(track_ids), "entity": ref}
            response = self._call("POST", "/api/v1/runs", json=body)
            if response.status_code == 409:
                # Those tracks are being run: wait for that run, then ask for ours.
                self._wait(response.json()["run_id"], deadline)
                response = self._call("POST", "/api/v1/runs", json=body)
            if response.status_code != 202:
                raise ConfigError(
                    [Problem(self.server, f"cannot start a run: {_detail(response)}")]
                )
            run = self._wait(response.json()["id"], deadline)
            if run["status"] != "finished":
                raise Unreachable(f"run {run['id']} on {self.server} ended {run['status']}")

    def _wait(self, run_id: int, deadline: float) -> dict[str, Any]:
        while True:
            run = self._call("GET", f"/api/v1/runs/{run_id}").json()
            if run["status"] != "running":
                return run
            if time.monotonic() > deadline:
                raise Unreachable(f"run {run_id} on {self.server} did not finish in time")
            time.sleep(0.5)


def gate_remotely(
    gate: RemoteGate,
    entity_refs: Sequence[str],
    requirements: Sequence[Requirement],
    *,
    allow_errors: bool = False,
    refresh: bool = False,
    skip_drafts: bool = False,
) -> GateReport:
    refs = [str(parse_ref(ref, default_kind="component")) for ref in entity_refs]
    # Drafts are refused (or left out) before anything runs for them.
    requirements, left_out = gate.published(requirements, skip_drafts=skip_drafts)
    if refresh:
        gate.refresh(refs, [r.track_id for r in requirements])
    verdicts = gate.verdicts(refs, requirements, allow_errors=allow_errors)
    return GateReport(verdicts, mode="remote", drafts_left_out=left_out)


def _check_requirements(
    server: str, tracks: dict[str, Any], requirements: Sequence[Requirement]
) -> None:
    problems = []
    for requirement in requirements:
        track = tracks.get(requirement.track_id)
        if track is None:
            problems.append(Problem(server, f"unknown track {requirement.track_id!r}"))
        elif requirement.level not in [level["id"] for level in track["levels"]]:
            problems.append(
                Problem(server, f"track {track['id']} has no level {requirement.level!r}")
            )
    if problems:
        raise ConfigError(problems)


def _verdict(
    ref: str,
    track: dict[str, Any],
    scorecard: dict[str, Any],
    requirement: Requirement,
    allow_errors: bool,
) -> TrackVerdict:
    checks = [
        CheckVerdict(
            id=check["id"],
            title=check["title"],
            level_id=level["id"],
            required=check["required"],
            outcome=Outcome(check["outcome"]) if check["outcome"] else None,
            message=check["message"] or "not evaluated",
            remediation=check["remediation"] or "",
            exemption=_waiver(ref, track["id"], check["id"], check.get("exemption")),
        )
        for level in scorecard["levels"]
        for check in level["checks"]
    ]
    return TrackVerdict(
        entity_ref=ref,
        track_id=track["id"],
        track_title=track["title"],
        levels=[level["id"] for level in track["levels"]],
        required_level=requirement.level,
        reached_level=scorecard["level"],
        checks=checks,
        allow_errors=allow_errors,
    )


def _waiver(
    ref: str, track_id: str, check_id: str, exemption: dict[str, Any] | None
) -> Waiver | None:
    """The exemption in effect for a result, from its `exemption` field (null, or absent
    on a server older than exemptions: none)."""
    if not exemption:
        return None
    expires_at = datetime.fromisoformat(exemption["expires_at"])
    if expires_at.tzinfo is None:  # the API writes UTC
        expires_at = expires_at.replace(tzinfo=UTC)
    source = exemption.get("source")
    return Waiver(
        exemption_id=exemption.get("id"),
        entity_ref=ref,
        # The track it was granted on: None when it covers every track that has the check.
        track_id=exemption.get("track", track_id),
        check_id=check_id,
        justification=exemption["justification"],
        expires_at=expires_at.astimezone(UTC),
        approved_by=exemption.get("approved_by"),
        source=None if source in (None, "api") else source,
    )


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
