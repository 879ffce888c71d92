"""A real Backstage catalog backend on loopback, serving a generated catalog.

The backend is the one in this folder: `@backstage/backend-defaults` with the catalog
plugin (`index.js`, `app-config.yaml`, versions pinned in `package-lock.json`), on an
in-memory better-sqlite3 database. `.ci/run` installs it; on a machine with Node.js where
it is not installed yet, the first test installs it (a few minutes). Without Node.js the
tests skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.serving import free_port

HARNESS = Path(__file__).resolve().parent
NATIVE_MODULE = HARNESS / "node_modules/better-sqlite3/build/Release/better_sqlite3.node"
STARTUP_SECONDS = 120  # the backend's start plus the catalog's first processing of every entity

# The generated catalog: enough entities for several pages at the tests' page size.
GROUPS, USERS, DOMAINS, SYSTEMS, APIS, RESOURCES, COMPONENTS = 12, 24, 2, 10, 30, 20, 240
# Backstage adds one `Location` entity per configured location.
CONFIG_LOCATIONS = 2


@dataclass(frozen=True)
class Backstage:
    """A running backend: its base URL, the token it accepts, and its catalog files."""

    url: str
    token: str
    catalog_dir: Path
    generated: int  # the entities in the catalog files (Backstage adds its Locations)


def _node() -> str:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js (node and npm) is not installed: the Backstage backend cannot run")
    return node


def _install() -> None:
    """`npm ci` and the native SQLite module's build, as `.ci/run` does."""
    if NATIVE_MODULE.is_file():
        return
    for command in (
        ["npm", "ci", "--no-audit", "--no-fund"],
        ["npm", "rebuild", "better-sqlite3"],
    ):
        done = subprocess.run(command, cwd=HARNESS, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"`{' '.join(command)}` in {HARNESS} failed:\n{done.stderr[-3000:]}")


def write_catalog(folder: Path) -> int:
    """The generated catalog: `org.yaml` (groups, users) and `components.yaml` (the rest).

    Entities vary the way real ones do (some lack a description, an owner that does not
    exist, missing annotations) so that checks pass and fail on both sides of a
    comparison. Returns the number of entities written.
    """
    org: list[dict] = []
    for g in range(GROUPS):
        org.append(_entity("Group", f"team-{g}", {"type": "team", "children": []}, describe=g % 4))
    for u in range(USERS):
        spec = {"memberOf": [f"team-{u % GROUPS}"], "profile": {"email": f"u{u}@example.com"}}
        org.append(_entity("User", f"user-{u}", spec, describe=1))
    rest: list[dict] = []
    for d in range(DOMAINS):
        rest.append(_entity("Domain", f"domain-{d}", {"owner": "team-0"}, describe=1))
    for s in range(SYSTEMS):
        spec = {"owner": f"team-{s % GROUPS}", "domain": f"domain-{s % DOMAINS}"}
        rest.append(_entity("System", f"system-{s}", spec, describe=s % 3))
    for a in range(APIS):
        spec = {
            "type": "openapi",
            "lifecycle": "production",
            "owner": f"team-{a % GROUPS}",
            "system": f"system-{a % SYSTEMS}",
            "definition": "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
        }
        rest.append(_entity("API", f"api-{a}", spec, describe=a % 2))
    for r in range(RESOURCES):
        spec = {"type": "database", "owner": f"team-{r % GROUPS}", "system": f"system-{r % 4}"}
        rest.append(_entity("Resource", f"db-{r}", spec, describe=r % 3))
    for c in range(COMPONENTS):
        # Every 9th owner is a group the catalog does not have.
        owner = f"team-{c % GROUPS}" if c % 9 else f"group:default/ghost-{c}"
        spec = {
            "type": ("service", "website", "library")[c % 3],
            "lifecycle": ("production", "experimental", "deprecated")[c % 5 % 3],
            "owner": owner,
        }
        if c % 4:
            spec["system"] = f"system-{c % SYSTEMS}"
        if c % 6 == 0:
            spec["providesApis"] = [f"api-{c % APIS}"]
        entity = _entity("Component", f"svc-{c:03d}", spec, describe=c % 3)
        annotations = entity["metadata"].setdefault("annotations", {})
        if c % 2:
            annotations["github.com/project-slug"] = f"example/svc-{c:03d}"
        if c % 3 == 0:
            annotations["pagerduty.com/integration-key"] = f"key-{c}"
        if c % 5 == 0:
            annotations["backstage.io/techdocs-ref"] = "dir:."
        if c % 7:
            entity["metadata"]["tags"] = ["python", "payments"][: 1 + c % 2]
        if c % 8 == 0:
            entity["metadata"]["links"] = [{"url": f"https://runbooks.example/svc-{c}"}]
        rest.append(entity)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "org.yaml").write_text(yaml.safe_dump_all(org, sort_keys=False))
    (folder / "components.yaml").write_text(yaml.safe_dump_all(rest, sort_keys=False))
    return len(org) + len(rest)


def _entity(kind: str, name: str, spec: dict, *, describe: int) -> dict:
    metadata: dict = {"name": name}
    if describe:
        metadata["description"] = f"The {name} {kind.lower()}."
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}


def wait_for_catalog(url: str, token: str, expected: int, process: subprocess.Popen) -> None:
    """Until `by-query` answers and lists every entity (the catalog ingests in the
    background after the backend starts)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    seen: object = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Backstage backend exited with {process.returncode}")
        try:
            response = httpx.get(
                f"{url}/api/catalog/entities/by-query",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            if response.status_code == 200:
                seen = response.json().get("totalItems")
                if seen == expected:
                    return
            else:
                seen = f"HTTP {response.status_code}"
        except httpx.TransportError as error:
            seen = type(error).__name__
        time.sleep(0.5)
    raise RuntimeError(
        f"the Backstage catalog did not list {expected} entities in {STARTUP_SECONDS} s "
        f"(last seen: {seen})"
    )


@pytest.fixture(scope="session")
def backstage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backstage]:
    """A Backstage backend on a free loopback port, with the generated catalog ingested."""
    node = _node()
    _install()
    catalog_dir = tmp_path_factory.mktemp("backstage-catalog")
    generated = write_catalog(catalog_dir)
    port = free_port()
    token = secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("backstage-log") / "backend.log").open("w+")
    env = {
        **os.environ,
        "BACKSTAGE_PORT": str(port),
        "BACKSTAGE_TOKEN": token,
        "BACKSTAGE_CATALOG_DIR": str(catalog_dir),
    }
    process = subprocess.Popen(
        [node, "index.js"],
        cwd=HARNESS,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so that stopping it stops whatever it started
    )
    try:
        wait_for_catalog(url, token, generated + CONFIG_LOCATIONS, process)
        yield Backstage(url, token, catalog_dir, generated)
    except RuntimeError as error:
        log.seek(0)
        pytest.fail(f"{error}\n--- backend log ---\n{log.read()[-4000:]}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
