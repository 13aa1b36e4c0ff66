"""An import: files (or fetched resources) in dependency order, each row mapped, every
command applied through the bus (or only previewed, with ``dry_run``), and a report per
file of what was mapped, skipped and refused.

A command's ``command_id`` is derived from the platform, the resource, the source row's
id and the rule (``import:rewardful:commissions:39e6...:payment``), so importing the same
files again returns each command's first result and records nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from entrypoints.bootstrap import Ledger
from entrypoints.importers.mapping import Context, Mapped, MappingError, Platform, Resource, Row, map_rows, read_rows

log = structlog.get_logger(__name__)


@dataclass
class FileReport:
    source: str  # the file, or the API resource fetched
    resource: str
    rows: int = 0
    mapped: int = 0  # commands the ledger accepted (or would accept, in a dry run)
    skipped: list[dict[str, str]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    events_recorded: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "resource": self.resource, "rows": self.rows, "mapped": self.mapped,
                "skipped": self.skipped, "refused": self.refused, "events_recorded": self.events_recorded}


@dataclass
class Batch:
    report: FileReport
    rows: list[Mapped]


def import_files(ledger: Ledger, platform: Platform, files: Iterable[Path], ctx: Context, *, dry_run: bool) -> list[FileReport]:
    batches = []
    for path in files:
        resource = platform.resource_for(path)
        if resource is None:
            raise MappingError(f"{path.name}: the name does not say what it holds (one of "
                               f"{', '.join(r.name for r in platform.resources)})")
        batches.append((resource, str(path), read_rows(path)))
    return _apply(ledger, platform, batches, ctx, dry_run=dry_run)


def import_fetched(ledger: Ledger, platform: Platform, fetched: dict[str, list[Row]], ctx: Context, *,
                   dry_run: bool) -> list[FileReport]:
    batches = [(resource, f"{platform.api_base}{resource.endpoint}", fetched[resource.name])
               for resource in platform.resources if resource.name in fetched]
    return _apply(ledger, platform, batches, ctx, dry_run=dry_run)


def _apply(ledger: Ledger, platform: Platform, sources: list[tuple[Resource, str, list[Row]]], ctx: Context, *,
           dry_run: bool) -> list[FileReport]:
    order = {resource.name: index for index, resource in enumerate(platform.resources)}
    batches = []
    for resource, source, rows in sorted(sources, key=lambda s: order[s[0].name]):  # partners before their customers
        batch = Batch(FileReport(source, resource.name, rows=len(rows)), list(map_rows(platform, resource, rows, ctx)))
        _note_unmapped(batch)
        batches.append(batch)
    planned = [_planned(batch) for batch in batches]
    if dry_run:  # decided in order in one unit of work, so a claim sees its sign-up; then thrown away
        results = iter(ledger.bus.preview_many([command for plan in planned for *_, command in plan], source="import"))
        for batch, plan in zip(batches, planned, strict=True):
            _report(batch, plan, [next(results) for _ in plan])
    else:
        for batch, plan in zip(batches, planned, strict=True):
            before = ledger.log_head()
            _report(batch, plan, list(ledger.bus.handle_many([command for *_, command in plan], source="import")))
            batch.report.events_recorded = ledger.log_head() - before
    reports = [batch.report for batch in batches]
    log.info("import_done", platform=platform.name, dry_run=dry_run,
             mapped=sum(r.mapped for r in reports), refused=sum(len(r.refused) for r in reports))
    return reports


def _planned(batch: Batch) -> list[tuple[str, str, dict[str, Any]]]:
    """(row id, rule, command) in effective-time order (a row's own commands keep theirs)."""
    plan = [(mapped.row_id, rule, command) for mapped in batch.rows for rule, command in mapped.commands]
    return sorted(plan, key=lambda item: str(item[2].get("at", "")))


def _report(batch: Batch, plan: list[tuple[str, str, dict[str, Any]]], results: list[dict[str, Any]]) -> None:
    for (row_id, rule, command), result in zip(plan, results, strict=True):
        if result["ok"]:
            batch.report.mapped += 1
        else:
            batch.report.refused.append({"row": row_id, "command": command["type"], "rule": rule, "error": result["error"]})


def _note_unmapped(batch: Batch) -> None:
    for mapped in batch.rows:
        if mapped.refused:
            batch.report.refused.append({"row": mapped.row_id, "error": {"code": "invalid", "message": mapped.refused}})
        batch.report.skipped += [{"row": mapped.row_id, "reason": reason} for reason in mapped.skipped]
