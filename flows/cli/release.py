"""`wsad promote`, `wsad rollback` and `wsad models`: release commands on the registry."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from flows.cli.terminal import ModelName, Who, one_line_errors, out, settings_with


def promote(
    version: Annotated[str, typer.Argument(help="registered version to promote")],
    model_name: ModelName = None,
    who: Who = None,
) -> None:
    """Promote a registered version to champion if its recorded gates pass (audited)."""
    from components.provenance.audit import AuditLog
    from components.registry import gates, promotion, store

    settings = settings_with(model_name=model_name, who=who)
    with one_line_errors():
        store.configure(settings.tracking_uri)
        decision = promotion.promote_version(
            settings.model_name,
            version,
            gates.PromotionPolicy(settings.metric_floor, settings.margin),
            AuditLog(settings.audit_log, settings.audit_key_bytes()),
            settings.who,
        )
    state = "promoted to champion" if decision.promote else "rejected"
    out.print(f"{settings.model_name} v{version} {state}: {decision.reason}")
    if not decision.promote:
        raise typer.Exit(1)


def rollback(model_name: ModelName = None, who: Who = None) -> None:
    """Move champion back to the previous champion (audited)."""
    from components.provenance.audit import AuditLog
    from components.registry import promotion, store

    settings = settings_with(model_name=model_name, who=who)
    with one_line_errors():
        store.configure(settings.tracking_uri)
        version = promotion.rollback(
            settings.model_name,
            AuditLog(settings.audit_log, settings.audit_key_bytes()),
            settings.who,
        )
    out.print(f"{settings.model_name}: champion rolled back to v{version}")


def models(model_name: ModelName = None) -> None:
    """List registered versions with their aliases, metrics, estimated precision and recall at
    the threshold (90 % intervals, without new labels) and gate results."""
    from components.registry import store

    settings = settings_with(model_name=model_name)
    with one_line_errors():
        store.configure(settings.tracking_uri)
        versions = store.list_versions(settings.model_name)
        facts = [store.version_facts(v) for v in versions]
    table = Table(title=settings.model_name)
    columns = ("version", "aliases", "method", "auc_pr", "est. precision", "est. recall")
    aliases = [",".join(v["aliases"]) for v in versions]
    for col in (*columns, "data version", "validation", "status"):
        # A narrow terminal squeezes the long columns; the version and its aliases stay whole.
        whole = {"version": 7, "aliases": max(map(len, aliases), default=7)}.get(col)
        table.add_column(col, min_width=whole, no_wrap=whole is not None)
    for v, a, f in zip(versions, aliases, facts, strict=True):
        estimate = f.performance
        table.add_row(
            v["version"],
            a,
            f.method,
            f"{f.auc_pr:.3f}",
            estimate.precision.text() if estimate else "-",
            estimate.recall.text() if estimate else "-",
            f.data_version[:12] + ("" if f.unversioned is None else " (allowed)"),
            "passed" if f.validation_passed else "failed",
            v["tags"].get("rejected_reason") or v["tags"].get("decision", ""),
        )
    out.print(table)
