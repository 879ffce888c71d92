"""Exemptions kept as code in a served workspace: counted as approved by their file,
read-only through the API, and a bad file on reload keeps the last good set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.exemptions.conftest import ENTITY, JUSTIFICATION, load, write_workspace
from tests.serving import ServedApp
from tests.tokens import Tokens, client

API = "/api/v1/entities/component/default/nightly-report"


def exemption_file(expires: str) -> str:
    return f"""\
apiVersion: scorecard/v1
kind: Exemption
entity: {ENTITY}
track: ops
check: has_oncall
justification: {JUSTIFICATION}
expires: {expires}
"""


def test_files_count_as_approved_and_a_bad_file_keeps_the_last_good_set(
    tmp_path: Path, tokens: Tokens
) -> None:
    folder = tmp_path / "exemptions"
    folder.mkdir()
    good = folder / "nightly.yaml"
    in_ten_days = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    good.write_text(exemption_file(in_ten_days))
    config = write_workspace(
        tmp_path, f"sqlite:///{tmp_path / 'scorecard.db'}", exemption_files=("exemptions",)
    )
    with ServedApp(load(config)) as app, client(app.url, tokens.admin) as admin:
        card = admin.get(API).json()["tracks"][0]
        assert card["level"] == "silver"
        waiver = card["levels"][1]["checks"][0]["exemption"]
        assert waiver["source"] == str(good) and waiver["approved_by"] == f"file:{good}"
        [listed] = admin.get("/api/v1/exemptions").json()["items"]
        assert listed["source"] == str(good) and listed["status"] == "approved"
        refused = admin.post(f"/api/v1/exemptions/{listed['id']}/revoke")
        assert refused.status_code == 409 and str(good) in refused.json()["detail"]

        # A bad file: the reload is refused with FILE:LINE:COL, and the set stays.
        bad = folder / "broken.yaml"
        bad.write_text(exemption_file(in_ten_days).replace("track: ops", "track: ops\ncolor: red"))
        answer = admin.post("/api/v1/reload")
        assert answer.status_code == 422
        problems = [p["message"] for p in answer.json()["problems"]]
        assert any("color" in p for p in problems), problems
        assert any(p["file"] == str(bad) and p["line"] == 5 for p in answer.json()["problems"])
        assert admin.get(API).json()["tracks"][0]["level"] == "silver"
        assert admin.get("/api/v1/exemptions").json()["items"][0]["status"] == "approved"

        # The file gone from the workspace: its exemption is revoked and the level drops.
        bad.unlink()
        good.unlink()
        assert admin.post("/api/v1/reload").status_code == 200
        assert admin.get(API).json()["tracks"][0]["level"] == "bronze"
        assert admin.get(f"/api/v1/exemptions/{listed['id']}").json()["status"] == "revoked"
        rows = admin.get("/api/v1/audit", params={"object_type": "exemption"}).json()["items"]
        assert [(r["actor"], r["action"]) for r in rows] == [
            (f"file:{good}", "exemption.removed"),
            (f"file:{good}", "exemption.defined"),
        ]
        config_rows = admin.get("/api/v1/audit", params={"object_type": "config"}).json()["items"]
        assert [(r["actor"], r["action"]) for r in config_rows] == [
            ("release-admin", "config.reloaded"),
            ("release-admin", "config.reload_rejected"),
        ]
