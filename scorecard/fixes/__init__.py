"""Fixes: the golden-path change a failing check asks for, applied by scorecard.

A check (or a track entry) declares a `Fix`: files to create from templates and edits to
the entity's catalog-info.yaml. `templates` renders it in a sandbox, `plan` picks the
fixes a target level needs, `catalog_edit` edits catalog files in place, `local` applies
them to a working tree and `pull_requests` opens them as pull requests on GitHub.
"""
