"""Fixes: the golden-path change a failing check asks for, applied by scorecard.

A check (or a track entry) declares a `Fix` (`model`): files to create from templates and
edits to the entity's catalog-info.yaml.

- `templates` renders a fix in a sandbox, `paths` says where it may write;
- `plan` picks the fixes that keep an entity below a level (or the named checks);
- `catalog_edit` edits a catalog file in place, only the changed lines differing;
- `local` applies a plan to a working tree (`scorecard fix`);
- `remote` plans from stored results and groups per repository, `locations` finds an
  entity's catalog file there, `pr_text` writes the pull request, and `pull_requests`
  opens or updates it through GitHub's API (`scorecard fix --open-prs`, `POST /fixes`).
"""
