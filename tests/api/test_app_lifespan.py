"""What the app does around its lifespan, besides starting and stopping the service."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from api import create_app
from api.pages.templating import templates
from scorecard.service.service import Service
from tests.api.conftest import make_workspace


def test_a_serving_app_keeps_its_start_up_objects_out_of_full_collections(
    tmp_path: Path,
) -> None:
    # Walking them took 90 ms per full collection over a large store: the p99 of badges.
    workspace = make_workspace(tmp_path, f"sqlite:///{tmp_path / 'scorecard.db'}")
    service = Service.create(workspace, schedule=False)
    app = create_app(service, manage_service=False)
    frozen_while_serving = []

    async def serve() -> None:
        async with app.router.lifespan_context(app):
            frozen_while_serving.append(gc.get_freeze_count())

    assert gc.get_freeze_count() == 0
    asyncio.run(serve())

    assert frozen_while_serving[0] > 0
    assert gc.get_freeze_count() == 0  # collectable again once the app has stopped
    service.stop()


def test_every_page_template_is_compiled_before_the_first_request(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, f"sqlite:///{tmp_path / 'scorecard.db'}")
    service = Service.create(workspace, schedule=False)
    app = create_app(service, manage_service=False)
    pages = templates.env.list_templates(extensions=["html"])
    templates.env.cache.clear()  # as in a process that has served nothing yet
    compiled = []

    async def serve() -> None:
        async with app.router.lifespan_context(app):
            compiled.extend(name for _, name in templates.env.cache)

    asyncio.run(serve())

    assert sorted(compiled) == sorted(pages)
    service.stop()
