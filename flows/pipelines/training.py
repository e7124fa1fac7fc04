"""The training flow: validate -> draw each stage's rows -> estimate contamination ->
cross-validate every method in parallel (threads, or a Ray cluster: flows/runtime/runners.py)
-> select -> refit -> calibrate on every row -> register (alias challenger) -> gate ->
(optional human approval) -> promote or reject -> audit. Each task calls one component; the
flow holds no logic of its own."""

from __future__ import annotations

import dataclasses
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from prefect import flow, task
from prefect.cache_policies import NONE

from components.data import table_io, table_size, tables
from components.data.label_file import read_labels, weak_labels
from components.detectors import Detector
from components.detectors.api import applicable_params, cpu_threads
from components.monitoring import validation
from components.monitoring.profile import ReferenceProfile
from components.provenance import lineage
from components.provenance.audit import AuditLog
from components.registry import gates, promotion, registration, store
from components.registry.bundle import write_bundle
from components.registry.candidate_facts import AUC_PR, CandidateFacts
from components.selection import evaluation
from components.selection.candidate import (
    Candidate,
    calibrate_candidate,
    candidate_plots,
    refit_detector,
)
from components.selection.contamination import (
    ContaminationEstimate,
    ThresholdContamination,
    contamination_for_threshold,
    estimate_contamination,
    release_estimate,
    threshold_share,
)
from components.selection.ensemble_plan import (
    ReleasePlan,
    describe,
    flat_params,
    plan_release,
    ranking_auc,
    replay,
)
from components.selection.row_budget import StageDraws, draw_stages
from flows.pipelines.approval import ask_approval
from flows.pipelines.reference import check_against_champion, profile_reference
from flows.runtime import progress
from flows.runtime.config import TRAINING_FLOW, Settings
from flows.runtime.retrain_lock import one_retrain_per_model
from flows.runtime.run_context import current_run_id
from flows.runtime.runners import training_runner
from flows.usecases import preflight


@task(cache_policy=NONE)
def load_inputs(
    records: Path, labels: Path, id_column: str, memory_budget: int
) -> tuple[pd.DataFrame, pd.DataFrame, tables.Schema]:
    """Read the table (refused first if it does not fit the budget) and the label file;
    infer the schema from the table."""
    with progress.stage("read data") as stage:
        table_size.ensure_fits(records, memory_budget, what="training")
        table, confirmed = table_io.read_table(records), read_labels(labels)
        stage.report(f"{len(table):,} rows x {table.shape[1]} columns, {len(confirmed)} labels")
        return table, confirmed, tables.infer_schema(table, id_column)


@task(cache_policy=NONE)
def same_columns_as_champion(table: pd.DataFrame, settings: Settings) -> None:
    """The champion's columns, unless the run allows a schema change (see preflight)."""
    preflight.same_columns_as_champion(table.columns, settings)


@task(cache_policy=NONE)
def validate(
    table: pd.DataFrame, confirmed: pd.DataFrame, schema: tables.Schema
) -> validation.ValidationReport:
    """Great Expectations suite; a failure stops the flow before anything is trained."""
    with progress.stage("validation") as stage:
        report = validation.validate_training_data(table, confirmed, schema)
        if not report.success:
            raise validation.DataValidationError(report)
        stage.report(f"{report.evaluated} expectations met")
        return report


@task(cache_policy=NONE)
def draw(y: np.ndarray, settings: Settings) -> StageDraws:
    """Which rows contamination, cross-validation and the refit read: every label and at
    most their budget of unlabelled rows, seeded (recorded with the version)."""
    return draw_stages(
        y, settings.contamination_rows, settings.cv_rows, settings.refit_rows, settings.random_state
    )


@task(cache_policy=NONE)
def estimate(X: np.ndarray, y: np.ndarray, seed: int) -> ContaminationEstimate:
    """PU class prior of anomalies among the unlabelled rows, with a bootstrap interval."""
    with progress.stage("contamination") as stage:
        found = estimate_contamination(X, y, random_state=seed)
        stage.report(f"{found.estimate:.4f} ({found.low:.4f}..{found.high:.4f}, {found.method})")
        return found


@task(cache_policy=NONE)
def cross_validate(
    method: str, X: np.ndarray, y: np.ndarray, contamination: float, settings: Settings
) -> evaluation.SelectionResult:
    """One method, cross-validated over the few labels (same folds for every method)."""
    seed = settings.random_state
    shared = applicable_params(method, {"random_state": seed, "device": settings.device})
    params = {**shared, **settings.params.get(method, {})}
    with progress.stage(f"cross-validation {method}", settings.cv_folds, "folds") as stage:
        result = evaluation.cross_validate(
            method, params, X, y, contamination, settings.cv_folds, seed, stage.advance
        )
        stage.report(f"{len(result.folds)} folds, AUC-ROC {ranking_auc(result):.3f}")
        return result


@task(cache_policy=NONE)
def plan(
    results: list[evaluation.SelectionResult], contamination: float, settings: Settings
) -> ReleasePlan:
    """Which candidates the release averages, from their cross-validation alone."""
    with progress.stage("release plan") as stage:
        chosen = plan_release(
            results,
            contamination,
            top=settings.release_top,
            n_seeds=settings.ensemble_seeds,
            tolerance=settings.release_tolerance,
        )
        stage.report(describe(chosen.selection.method, chosen.selection.params))
        return chosen


@task(cache_policy=NONE)
def refit(selection: evaluation.SelectionResult, X: np.ndarray, y: np.ndarray) -> Detector:
    """Refit the planned ensemble on the refit's rows."""
    with progress.stage("refit") as stage:
        detector = refit_detector(selection, X, y)
        what = describe(selection.method, selection.params)
        stage.report(f"{what} on {len(X):,} rows")
        return detector


@task(cache_policy=NONE)
def release_share(
    selection: evaluation.SelectionResult, first: ContaminationEstimate
) -> ThresholdContamination:
    """The threshold's share, estimated again on the planned release's out-of-fold scores
    (no extra fit); the first estimate when that one is not trusted."""
    found = release_estimate(selection.held_out_scores, selection.held_out_y == 1)
    return threshold_share(found, first)


@task(cache_policy=NONE)
def calibrate(
    detector: Detector,
    selection: evaluation.SelectionResult,
    X: np.ndarray,
    y: np.ndarray,
    share: ThresholdContamination,
    settings: Settings,
) -> Candidate:
    """Score every row and calibrate the threshold on the unlabelled ones."""
    with progress.stage("calibration") as stage:
        candidate = calibrate_candidate(
            detector, selection, X, y, share.value, settings.threshold_method, settings.target_fpr
        )
        stage.report(
            f"{len(X):,} rows scored, threshold {candidate.threshold.value:.4g} "
            f"(share {share.value:.4f}{', fallback' if share.fallback else ''})"
        )
        return candidate


@task(cache_policy=NONE)
def describe_candidate(
    candidate: Candidate,
    report: validation.ValidationReport,
    reference: validation.ValidationReport,
    contamination: ContaminationEstimate,
    share: ThresholdContamination,
    profile: ReferenceProfile,
    draws: StageDraws,
    settings: Settings,
) -> CandidateFacts:
    """What the version carries and the gates read: configuration, lineage (and, for data
    DVC does not version, the run's leave to release it), validation, contamination, metrics
    and the estimated performance (from the profile)."""
    sel = candidate.selection
    inputs = [settings.records, settings.labels]
    version = lineage.input_version(settings.data_dvc, inputs)
    return CandidateFacts(
        method=sel.method,
        params=sel.params,
        release=describe(sel.method, sel.params),
        data_version=version,
        records=str(settings.records),
        labels=str(settings.labels),
        git_commit=lineage.git_commit(Path.cwd()),
        validation_passed=report.success,
        reference_check=f"{'passed' if reference.success else 'drift accepted'} ({reference.note})",
        random_state=settings.random_state,
        torch_threads=torch.get_num_threads(),  # CPU sums' order: reproduce
        threshold_method=settings.threshold_method,
        target_fpr=settings.target_fpr,
        contamination=contamination.estimate,
        contamination_low=contamination.low,
        contamination_high=contamination.high,
        contamination_trusted=contamination.trusted,
        threshold_contamination=share.value,
        threshold_note=share.note,
        metrics={**candidate.metrics(), "contamination": contamination.estimate},
        performance=profile.performance.training if profile.performance else None,
        row_draws=draws.records(),
        unversioned=lineage.unversioned_data(
            version, inputs, settings.who, settings.allow_unversioned_reason
        ),
    )


@task(cache_policy=NONE, retries=2, retry_delay_seconds=2)
def register(
    candidate: Candidate,
    facts: CandidateFacts,
    schema: tables.Schema,
    scaler: tables.Scaler,
    profile: ReferenceProfile,
    table: pd.DataFrame,
    y: np.ndarray,
    report: validation.ValidationReport,
    reference: validation.ValidationReport,
    settings: Settings,
    run_key: str,
) -> registration.ModelRef:
    """Bundle preprocessing + detector + threshold + schema + reference profile as a pyfunc
    version tagged with its facts, audited; the validation reports and the profile are run
    artifacts too. A retry (same `run_key`) finishes the version an earlier attempt
    registered."""
    with progress.stage("registration") as stage, tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        bundle = write_bundle(
            tmp_dir / "bundle", candidate.detector, schema, scaler, candidate.threshold, profile
        )
        reports = {
            "validation": report.to_dict(),
            "reference_check": reference.to_dict(),
            "profile": profile.to_dict(),
        }
        for name, part in reports.items():
            (tmp_dir / f"{name}.json").write_text(json.dumps(part, indent=2))
        artifacts = [
            *candidate_plots(candidate, y, tmp_dir),
            *map(tmp_dir.joinpath, [f"{n}.json" for n in reports]),
        ]
        ref = registration.log_candidate(
            settings.model_name,
            bundle,
            facts,
            params=flat_params(facts.method, facts.params),
            artifacts=artifacts,
            input_example=table[list(schema.features)].head(5),
            audit=AuditLog(settings.audit_log, settings.audit_key_bytes()),
            who=settings.who,
            run_key=run_key,
        )
        stage.report(f"{ref.name} v{ref.version} (alias challenger)")
        return ref


@task(cache_policy=NONE)
def champion_on_same_folds(
    results: list[evaluation.SelectionResult],
    X: np.ndarray,
    y: np.ndarray,
    contamination: float,
    settings: Settings,
) -> CandidateFacts | None:
    """The current champion's facts with its AUC-PR measured on this run's folds (its
    configuration cross-validated again), so the margin gate compares like with like."""
    version = store.get_alias_version(settings.model_name, "champion")
    if version is None:
        return None
    with progress.stage(f"champion v{version} on this run's folds") as stage:
        facts = store.version_facts(store.version_info(settings.model_name, version))
        result = replay(
            facts.method,
            facts.params,
            results,
            X,
            y,
            contamination,
            settings.cv_folds,
            settings.random_state,
        )
        stage.report(f"AUC-PR {result.auc_pr:.4f}")
        return dataclasses.replace(facts, metrics={**facts.metrics, AUC_PR: result.auc_pr})


@task(cache_policy=NONE)
def gate(
    facts: CandidateFacts, champion: CandidateFacts | None, settings: Settings
) -> gates.Decision:
    """Every release gate against the champion (pure; nothing moves yet)."""
    with progress.stage("gates") as stage:
        decision = gates.decide_promotion(
            facts,
            champion,
            gates.PromotionPolicy(metric_floor=settings.metric_floor, margin=settings.margin),
        )
        failed = [name for name, g in decision.gates.items() if not g["passed"]]
        # The reasons are the verdict's line (`v1 not promoted: ...`); the stage names them.
        stage.report(decision.reason if decision.promote else f"failed: {', '.join(failed)}")
        return decision


@task(cache_policy=NONE, retries=2, retry_delay_seconds=2)
def release(
    ref: registration.ModelRef,
    decision: gates.Decision,
    approver: str | None,
    settings: Settings,
    run_key: str,
) -> None:
    """Move `champion` or record the rejection, audited with who approved it; a retry (same
    `run_key`) completes the decision its earlier attempt audited instead of auditing again."""
    audit = AuditLog(settings.audit_log, settings.audit_key_bytes())
    with progress.stage("release") as stage:
        promotion.promote(
            settings.model_name, ref.version, decision, audit, settings.who, approver, run_key
        )
        verdict = "champion" if decision.promote else "not promoted"
        stage.report(f"v{ref.version} {verdict} (audited)")


def release_key() -> str:
    """What a retried `register` or `release` knows its earlier attempt by: this flow run's
    id (a uuid made once, outside a flow run)."""
    return current_run_id() or uuid.uuid4().hex


@flow(name=TRAINING_FLOW)
def training_flow(settings: Settings | None = None) -> dict[str, Any]:
    """Train every configured method, register the best, promote it if every gate passes
    (and, with `require_approval`, a person approves). One run per model name at a time."""
    settings = settings or Settings()
    store.configure(settings.tracking_uri)
    with one_retrain_per_model(settings.model_name), cpu_threads(settings.torch_threads):
        return train_and_release(settings)


def train_and_release(settings: Settings) -> dict[str, Any]:
    """The flow's body, run while holding the model's retrain slot."""
    table, confirmed, schema = load_inputs(
        settings.records, settings.labels, settings.id_column, settings.memory_budget
    )
    same_columns_as_champion(table, settings)
    report = validate(table, confirmed, schema)
    reference = check_against_champion(table, confirmed, settings)
    raw = tables.feature_matrix(table, schema)
    scaler = tables.Scaler.fit(raw)
    X, y = scaler.transform(raw), weak_labels(table, confirmed, schema)
    draws = draw(y, settings)
    contamination = estimate(*draws.contamination.take(X, y), settings.random_state)
    prior = contamination_for_threshold(contamination)  # the estimate, or a capped fallback
    X_cv, y_cv = draws.cross_validation.take(X, y)
    shared = {"X": X_cv, "y": y_cv, "contamination": prior.value, "settings": settings}
    with training_runner(settings) as runner:  # threads here, or a Ray cluster
        futures = [runner.submit(cross_validate, {"method": m, **shared}) for m in settings.methods]
        results = [f.result() for f in futures]
    chosen = plan(results, prior.value, settings)
    share = release_share(chosen.selection, contamination)  # the threshold's share
    detector = refit(chosen.selection, *draws.refit.take(X, y))
    candidate = calibrate(detector, chosen.selection, X, y, share, settings)
    profile = profile_reference(raw, y, contamination, candidate, schema)
    facts = describe_candidate(
        candidate, report, reference, contamination, share, profile, draws, settings
    )
    run_key = release_key()
    ref = register(
        candidate, facts, schema, scaler, profile, table, y, report, reference, settings, run_key
    )
    champion = champion_on_same_folds(results, X_cv, y_cv, prior.value, settings)
    decision = gate(facts, champion, settings)
    approver = None
    if decision.promote and settings.require_approval:
        decision, approver = ask_approval(decision, ref, settings)
    release(ref, decision, approver, settings, run_key)
    return {
        "model_name": settings.model_name,
        "version": ref.version,
        "method": describe(chosen.selection.method, chosen.selection.params),
        "metrics": candidate.metrics(),
        "contamination": contamination.to_dict(),
        "threshold_contamination": {"value": share.value, "note": share.note},
        "performance": facts.performance,
        "promoted": decision.promote,
        "reason": decision.reason,
        "approver": approver,
        "gates": decision.gates,
        "champion": store.get_alias_version(settings.model_name, "champion"),
        "cv": {r.method: round(r.auc_pr, 4) for r in results},
        "ranking": {m: round(auc, 4) for m, auc in chosen.ranking},
        "reference": reference.summary(),
        "run_id": run_key,
    }
