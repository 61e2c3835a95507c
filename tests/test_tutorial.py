"""The tutorial's code runs (docs/tutorial_pass_the_class.py), shows what the tutorial says it shows, and the
results table printed in docs/tutorial-pass-the-class.md is the one the code produces today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def tutorial():
    spec = importlib.util.spec_from_file_location("tutorial_pass_the_class", DOCS / "tutorial_pass_the_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def results(tutorial):
    return tutorial.train_all()


def test_the_network_overfits_the_small_training_set(results):
    history = results["network"]["history"]
    assert history["train"][-1] < min(history["train"][:100])             # training loss keeps falling
    assert history["validation"][-1] > min(history["validation"])          # validation loss turns back up
    assert results["network"]["validation_loss"] > results["perceptron"]["validation_loss"]


def test_dropout_and_early_stopping_cure_it(results):
    plain = results["network"]["validation_loss"]
    assert results["network + dropout"]["validation_loss"] < plain
    assert results["network + early stopping"]["validation_loss"] < plain


def test_early_stopping_restored_the_best_epoch(results):
    run = results["network + early stopping"]
    history = run["history"]["validation"]
    assert run["epochs_run"] < len(results["network"]["history"]["validation"])
    assert run["best_epoch"] == int(np.argmin(history))
    assert run["validation_loss"] == history[run["best_epoch"]]


def test_the_tutorial_shows_the_table_the_code_produces(tutorial, results):
    assert tutorial.table(results) in (DOCS / "tutorial-pass-the-class.md").read_text()


def test_the_figure_is_drawn(tutorial, results, tmp_path):
    path = tutorial.plot(results, tmp_path / "loss.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
