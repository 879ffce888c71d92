"""A small workspace whose track and catalog texts are Markdown, some of it hostile, for the
tests of how the pages show text and count things (test_markdown.py, test_wording.py).

Two teams: `group:default/alpha` has a `metadata.title`, `group:default/bravo` only a
profile's `displayName`; `group:default/charlie` owns an entity but is not in the catalog.
Three components, the groups and a user; the tracks apply to components only, so the
catalog holds more entities than the tracks do. Both tracks have the entry
`tagged`, with the track's own title, description and remediation over `has_tags`; the
remediation has a code span, a link, a fenced YAML block and three tries at running
script, which must all stay text.
"""

from __future__ import annotations

from pathlib import Path

from scorecard.workspace import Workspace
from tests.pages.conftest import TOKEN

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: alpha
  title: Team Alpha
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: bravo
spec:
  type: team
  profile:
    displayName: Team Bravo
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: carol
spec:
  memberOf: [alpha]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  title: Shop
  description: >-
    Sells `widgets`; see [the shop](https://shop.example.com/).
    <script>window.__injected = 'description'</script>
  tags: [python]
spec:
  type: service
  lifecycle: production
  owner: group:default/alpha
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: till
  description: The till of the shop, where people pay.
spec:
  type: service
  lifecycle: production
  owner: group:default/bravo
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: kiosk
  title: Kiosk
  description: The kiosk by the door, run by a team the catalog does not list.
  tags: [kiosk, hardware]
spec:
  type: service
  lifecycle: production
  owner: group:default/charlie
"""

REMEDIATION = """\
Add tags in `metadata.tags`, as [the tagging guide](https://guide.example.com/tags) says:

```yaml
metadata:
  tags: [python, payments]
```

<script>window.__injected = 'script'</script>

<img src="x" onerror="window.__injected = 'img'">

[click me](javascript:window.__injected='link')
"""

TAGGED_ENTRY = f"""\
      - check: has_tags
        id: tagged
        title: Tagged for search
        description: "Tags let people *find* the entity by `language`."
        with: {{min_count: 2}}
        remediation: |
{"".join(f"          {line}".rstrip() + chr(10) for line in REMEDIATION.splitlines())}"""

HANDBOOK = f"""\
apiVersion: scorecard/v1
kind: Track
id: handbook
title: Handbook
description: "Read the **handbook** on [the wiki](https://wiki.example.com/handbook)."
filter:
  kind: component
levels:
  - id: bronze
    description: "Every entity says what it is in `metadata.description`."
    checks:
      - check: has_description
{TAGGED_ENTRY}  - id: silver
    checks: [has_title]
"""

# The same entry on a second track: the entity page shows its fix once.
SECOND_LOOK = f"""\
apiVersion: scorecard/v1
kind: Track
id: second-look
title: Second look
docs: "javascript:window.__injected = 'docs'"
filter:
  kind: component
levels:
  - id: bronze
    checks:
{TAGGED_ENTRY}"""


def write_workspace(root: Path) -> Workspace:
    """The workspace in `root`, with its database there too."""
    (root / "tracks").mkdir(parents=True)
    (root / "catalog-info.yaml").write_text(CATALOG)
    (root / "tracks" / "handbook.yaml").write_text(HANDBOOK)
    (root / "tracks" / "second-look.yaml").write_text(SECOND_LOOK)
    return Workspace(
        catalog=[str(root / "catalog-info.yaml")],
        tracks=[root / "tracks"],
        checks=[],
        database=f"sqlite:///{root / 'scorecard.db'}",
        api_token=TOKEN,
        reload_interval=0,
    )
