"""The worked example of docs/tutorial-pass-the-class.md: "will I pass this class?", trained with nnspec's
reference. Run it with ``python docs/tutorial_pass_the_class.py``: it prints the results table of the tutorial
and redraws docs/img/pass-the-class-loss.png. nnspec's tests run ``train_all`` (tests/test_tutorial.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnspec.reference import datasets, dropout, early_stopping, network, perceptron, training
from nnspec.reference.losses import binary_cross_entropy_with_logits as bce

SEED = 11
N_TRAIN, N_VALIDATION = 30, 400
EPOCHS = 600
HIDDEN = 32
P_DROP = 0.5
PATIENCE = 50
HYPER = {"lr": 0.02, "momentum": 0.9}
PERCEPTRON_LR = 0.2
FIGURE = Path(__file__).resolve().parent / "img" / "pass-the-class-loss.png"


def standardize(x: np.ndarray) -> np.ndarray:
    """Both features live on 0..12; centre them at 6 and scale by 3.5 so that they are of order 1."""
    return (x - 6.0) / 3.5


def data(seed: int = SEED) -> dict[str, np.ndarray]:
    """A small training set and a large validation set of students, standardized."""
    rng = np.random.default_rng(seed)
    x_train, y_train = datasets.pass_the_class(N_TRAIN, rng)
    x_val, y_val = datasets.pass_the_class(N_VALIDATION, rng)
    return {"x_train": standardize(x_train), "y_train": y_train, "x_val": standardize(x_val), "y_val": y_val}


def validation_loss(layers, d) -> float:
    return float(bce.forward(network.forward(layers, d["x_val"]), d["y_val"]))


def accuracy(layers, d) -> float:
    return float(np.mean((network.forward(layers, d["x_val"]) > 0) == (d["y_val"] == 1)))


def train_perceptron(d, epochs: int = EPOCHS) -> dict:
    """The perceptron of the lecture, sigmoid(x @ w + b): its logits x @ w + b trained with binary
    cross-entropy on logits by full-batch gradient descent."""
    weight, bias = np.zeros(2), np.float64(0.0)
    for _ in range(epochs):
        logits = perceptron.forward(d["x_train"], weight, bias)
        grads = perceptron.backward(d["x_train"], weight, bias, bce.backward(logits, d["y_train"][:, 0]))
        weight, bias = weight - PERCEPTRON_LR * grads.weight, bias - PERCEPTRON_LR * grads.bias
    layers = [network.Layer(weight[:, None], np.array([bias]))]
    return {"layers": layers, "validation_loss": validation_loss(layers, d), "accuracy": accuracy(layers, d)}


def train_network(d, *, p_drop: float = 0.0, patience: int | None = None, epochs: int = EPOCHS,
                  seed: int = SEED) -> dict:
    """A 2-32-32-1 tanh network, full-batch SGD with momentum; dropout on both hidden layers when p_drop > 0,
    early stopping on the validation loss (restoring the best weights) when patience is given."""
    rng = np.random.default_rng(seed)
    layers = network.init([2, HIDDEN, HIDDEN, 1], ["tanh", "tanh", "identity"], rng)
    states, stopper, best = None, early_stopping.init(), layers
    history = {"train": [], "validation": []}
    for _ in range(epochs):
        masks = [dropout.scaled_mask(dropout.sample_mask((N_TRAIN, HIDDEN), p_drop, rng), p_drop)
                 for _ in range(2)] + [None] if p_drop > 0 else None
        result = training.step(layers, d["x_train"], d["y_train"], loss="binary_cross_entropy_with_logits",
                               hyper=HYPER, states=states, dropout_masks=masks)
        layers, states = result.layers, result.states
        history["train"].append(float(bce.forward(network.forward(layers, d["x_train"]), d["y_train"])))
        history["validation"].append(validation_loss(layers, d))
        if patience is not None:
            stopper = early_stopping.update(stopper, history["validation"][-1], patience=patience)
            best = layers if stopper.improved else best
            if stopper.stop:
                break
    final = best if patience is not None else layers
    return {"layers": final, "history": history, "validation_loss": validation_loss(final, d),
            "accuracy": accuracy(final, d), "best_epoch": stopper.best_epoch, "epochs_run": len(history["train"])}


def train_all(seed: int = SEED) -> dict[str, dict]:
    """Every model of the tutorial, on the same data."""
    d = data(seed)
    return {"perceptron": train_perceptron(d), "network": train_network(d),
            "network + dropout": train_network(d, p_drop=P_DROP),
            "network + early stopping": train_network(d, patience=PATIENCE)}


def plot(results: dict[str, dict], path: Path = FIGURE) -> Path:
    """Training and validation loss per epoch for the plain, dropout and early-stopping networks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    for axis, name in zip(axes, ["network", "network + dropout", "network + early stopping"]):
        history = results[name]["history"]
        axis.plot(history["train"], label="training loss")
        axis.plot(history["validation"], label="validation loss")
        if results[name]["best_epoch"] is not None:
            axis.axvline(results[name]["best_epoch"], color="grey", linestyle=":", label="restored epoch")
        axis.set_title(name)
        axis.set_xlabel("epoch")
    axes[0].set_ylabel("binary cross-entropy")
    axes[0].legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def table(results: dict[str, dict]) -> str:
    """The tutorial's results table (markdown)."""
    lines = ["| model | validation loss | validation accuracy |", "|---|---|---|"]
    lines += [f"| {name} | {r['validation_loss']:.3f} | {r['accuracy']:.3f} |" for name, r in results.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    results = train_all()
    print(table(results))
    print(f"figure: {plot(results)}")
