"""The `wsad` command line: thin wrappers that call components and flows.

Every known failure (bad data, failed validation, unknown model, broken audit chain) ends in
one readable line on stderr and a non-zero exit code; `WSAD_DEBUG=1` shows the traceback
(flows/cli/terminal.py). Heavy imports (Prefect, MLflow, torch) happen inside the commands that
need them, after the checks that need none, so a missing file is refused at once.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from flows.cli import audit, init, label, release, reproduce, review, schedule, serve_model
from flows.cli.terminal import (
    ModelName,
    Who,
    fail,
    flow_on_terminal,
    one_line_errors,
    out,
    quiet_console,
    settings_with,
)
from flows.runtime.offline import go_offline

if TYPE_CHECKING:
    from flows.runtime.config import Settings


class _LazyCommands(TyperGroup):
    """Commands whose modules import torch and scikit-learn at the top load when they are
    run (or listed by --help), not on every `wsad` start."""

    lazy = {"bench": "flows.cli.bench", "explain": "flows.cli.explain"}

    # click's own Context and Command types are private to typer (typer._click): Any here.
    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *self.lazy]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        single = typer.Typer(add_completion=False)
        single.command(cmd_name)(getattr(importlib.import_module(self.lazy[cmd_name]), cmd_name))
        return typer.main.get_command(single)


app = typer.Typer(
    cls=_LazyCommands, no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0]
)


@app.callback()
def _before_any_command(ctx: typer.Context) -> None:
    """Go offline and quiet the terminal before a command imports Prefect or MLflow; `serve`
    keeps its flow runs' logs on its console (it is where an operator watches them)."""
    go_offline()
    if ctx.invoked_subcommand != "serve":
        quiet_console()


label_app = typer.Typer(no_args_is_help=True, help="Verdicts: confirmed and dismissed (DVC).")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log of releases.")
app.add_typer(label_app, name="label")
app.add_typer(audit_app, name="audit")


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _print_outcome(result: dict[str, Any]) -> None:
    table = Table(title=f"{result['model_name']} v{result['version']} ({result['method']})")
    table.add_column("gate")
    table.add_column("value")
    table.add_column("limit")
    table.add_column("passed")
    for name, gate in result["gates"].items():
        table.add_row(name, _fmt(gate.get("value")), _fmt(gate.get("limit")), str(gate["passed"]))
    out.print(table)
    out.print(result["reference"])
    ranking = ", ".join(f"{m} {v:.3f}" for m, v in result["ranking"].items())
    out.print(f"cross-validated AUC-ROC of held-out labels vs unlabelled rows: {ranking}")
    out.print(f"released: {result['method']}")
    out.print(f"threshold: {result['threshold_contamination']['note']}")
    verdict = "[green]promoted to champion[/]" if result["promoted"] else "[yellow]not promoted[/]"
    out.print(f"v{result['version']} {verdict}: {result['reason']}", soft_wrap=True)
    out.print(f"champion is now v{result['champion']}" if result["champion"] else "no champion")
    out.print(f"run log: prefect flow-run logs {result['run_id']}", highlight=False)


@app.command()
def demo() -> None:
    """Build the demo data, version it with DVC and run the training flow end to end."""
    from components.data.demo import build_demo_data
    from components.provenance import lineage
    from flows.pipelines.training import training_flow

    settings = settings_with()
    with one_line_errors():
        if not settings.records.exists():
            build_demo_data(settings.records.parent)
        version = lineage.dvc_add(Path.cwd(), str(settings.records.parent))
        lineage.dvc_push(Path.cwd())
        out.print(f"demo data {settings.records.parent}/ at DVC version {version}")
        with flow_on_terminal():
            result = training_flow(settings)
    _print_outcome(result)
    out.print(
        f"MLflow UI: mlflow ui --backend-store-uri {settings.tracking_uri} "
        "(then open http://127.0.0.1:5000)"
    )


@app.command()
def train(
    records: Annotated[Path | None, typer.Option(help="table of records (CSV/parquet)")] = None,
    labels: Annotated[Path | None, typer.Option(help="CSV of confirmed anomaly ids")] = None,
    model_name: ModelName = None,
    methods: Annotated[str, typer.Option(help="comma-separated methods to compare")] = "",
    threshold_method: Annotated[str | None, typer.Option(help="quantile, fpr or zscore")] = None,
    allow_schema_change: Annotated[
        bool, typer.Option(help="accept columns that differ from the champion's")
    ] = False,
    accept_drift: Annotated[
        bool, typer.Option(help="train although the data moved from the champion's reference")
    ] = False,
    allow_unversioned: Annotated[
        bool,
        typer.Option(help="let a version trained on data DVC does not version become champion"),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option(help="why the drift is accepted or the unversioned data allowed (audited)"),
    ] = None,
    require_approval: Annotated[
        bool, typer.Option(help="pause before champion moves until `wsad approve`")
    ] = False,
    who: Who = None,
) -> None:
    """Validate (also against the champion's reference), train, compare, register, promote."""
    from components.data import files
    from components.provenance import lineage

    explained = bool(reason and reason.strip())
    if accept_drift and not explained:
        fail("--accept-drift and --reason go together: say why the changed data is right")
    if allow_unversioned and not explained:
        fail(
            "--allow-unversioned and --reason go together: say why data that DVC does not "
            "version may be released"
        )
    if explained and not (accept_drift or allow_unversioned):
        fail("--reason goes with --accept-drift or --allow-unversioned: say which it explains")
    with one_line_errors():
        for given in (records, labels):
            if given is not None:
                files.ensure_readable(given)
    settings = settings_with(
        records=records,
        labels=labels,
        model_name=model_name,
        methods=[m.strip() for m in methods.split(",") if m.strip()],
        threshold_method=threshold_method,
        allow_schema_change=allow_schema_change or None,
        accept_drift_reason=reason if accept_drift else None,
        allow_unversioned_reason=reason if allow_unversioned else None,
        require_approval=require_approval or None,
        who=who,
    )
    if settings.require_approval:  # a setting that cannot work: said before any file check
        from prefect.settings import get_current_settings

        if not get_current_settings().api.url:
            fail(
                "approval needs a Prefect server that `wsad approve` reaches too; "
                "set PREFECT_API_URL"
            )
    with one_line_errors():
        files.ensure_table_file(settings.records)
        files.ensure_readable(settings.labels)
        lineage.ensure_versionable(settings.data_dvc)
        from flows.usecases import preflight

        preflight.train_inputs(settings)
        _track_training_data(settings)
        from flows.pipelines.training import training_flow

        with flow_on_terminal():
            result = training_flow(settings)
    _print_outcome(result)


def _track_training_data(settings: Settings) -> None:
    """`dvc add` the data when it changed since its last `dvc add` (or was never added in a
    DVC repository), so the version the run records is the one it trains on; committing
    data.dvc stays the person's step."""
    from components.provenance import lineage

    version = lineage.track_changes(settings.data_dvc, [settings.records, settings.labels])
    if version:
        out.print(
            f"data changed since its last `dvc add`: tracked it with DVC ({settings.data_dvc}, "
            f"data version {version}); commit {settings.data_dvc} with git to publish it",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def score(
    records: Annotated[Path, typer.Option(help="table to score (CSV/parquet)")],
    out_path: Annotated[Path, typer.Option("--out", help="output .csv or .parquet")],
    alias: Annotated[str, typer.Option(help="registry alias to score with")] = "champion",
    chunk_rows: Annotated[int, typer.Option(help="rows per chunk (bounds memory)")] = 100_000,
    strict: Annotated[bool, typer.Option(help="drift is an error: no scores, exit 2")] = False,
    model_name: ModelName = None,
) -> None:
    """Score a table with the champion: id, score, is_anomaly per row, and a drift report.

    The drift report (JSON and a plot next to the scores) compares the table with the
    model's reference; past its limits one warning line names the worst columns."""
    from components.data import files

    with one_line_errors():
        files.ensure_table_file(records)
    settings = settings_with(model_name=model_name)
    with one_line_errors():
        from flows.usecases import preflight

        preflight.score_inputs(records, out_path, chunk_rows, alias, settings)
        from flows.pipelines.scoring import scoring_flow

        with flow_on_terminal():
            result = scoring_flow(records, out_path, alias, chunk_rows, settings, strict)
    out.print(
        f"scored {result['rows']} rows with {result['model']} (v{result['version']}): "
        f"{result['flagged']} flagged, written to {result['out']} in {result['seconds']:.1f}s; "
        f"receipt: audit entry {result['receipt']}",
        highlight=False,
        soft_wrap=True,
    )
    drift = result["drift"]
    if drift is None:
        out.print("drift not measured: the model has no reference profile (registered before)")
    elif drift["drifted"]:
        out.print(
            f"[yellow]warning:[/] {drift['summary']}; report: {result['drift_report']}",
            highlight=False,
            soft_wrap=True,
        )
    out.print(f"run log: prefect flow-run logs {result['run_id']}", highlight=False)


@app.command("config")
def show_config() -> None:
    """Print the effective settings (env prefix WSAD_, secrets masked)."""
    values = settings_with().model_dump(mode="json")
    table = Table(title="wsad settings (override with WSAD_<NAME>)")
    table.add_column("name")
    table.add_column("value")
    for key, value in values.items():
        table.add_row(key, json.dumps(value) if not isinstance(value, str) else value)
    out.print(table)


for command in (
    release.promote,
    release.rollback,
    release.models,
    schedule.serve,
    schedule.deploy,
    schedule.approve,
    schedule.pending,
    reproduce.reproduce,
):
    app.command()(command)
app.command()(init.init)
app.command("serve-model")(serve_model.serve_model)
app.command("review")(review.review)
audit_app.command("verify")(audit.audit_verify)
label_app.command("add")(label.label_add)
label_app.command("dismiss")(label.label_dismiss)
label_app.command("import")(label.label_import)


if __name__ == "__main__":
    app()
