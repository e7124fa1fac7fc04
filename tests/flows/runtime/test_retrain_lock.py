"""Retrains of one model never overlap: a run holding the model's slot makes any other
run of that model wait, while other models go ahead (real Prefect server)."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor

from prefect.concurrency.sync import concurrency
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.runtime.retrain_lock import lock_name, one_retrain_per_model


def try_slot(model_name: str) -> bool:
    """Whether another run could take the model's slot within two seconds."""
    try:
        with concurrency(lock_name(model_name), timeout_seconds=2, strict=True):
            return True
    except TimeoutError:
        return False


def from_another_thread(model_name: str) -> bool:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, try_slot, model_name).result()


def test_a_second_retrain_of_the_same_model_waits(prefect_server):
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        with one_retrain_per_model("lock-b"):  # creates the other model's limit
            pass
        with one_retrain_per_model("lock-a"):
            assert not from_another_thread("lock-a")
            assert from_another_thread("lock-b")
        assert from_another_thread("lock-a")
