"""The catalogue's optimizers and features (reference/catalogue.py): each name registered once, everything else
read off the module that defines it.

Spec: docs/spec/README.md#catalogue
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from nnspec.reference import catalogue, network, perceptron, training
from nnspec.reference.optimizers import profiles


@pytest.mark.parametrize("name", catalogue.optimizers())
def test_optimizer_vocabulary_is_its_modules_keywords_with_a_named_default(name):
    entry = catalogue.optimizer(name)
    for function in (entry.module.init, entry.module.step):
        keywords = {k: v.default for k, v in inspect.signature(function).parameters.items()
                    if v.kind is v.KEYWORD_ONLY}
        assert all(keywords[key] in values for key, values in entry.conventions.items()), function
        assert set(keywords) == {*entry.hyperparameters, *entry.conventions}, function
    assert entry.spec == f"docs/spec/optimizers.md#{name}" and entry.state_fields == entry.module.State._fields[1:]


@pytest.mark.parametrize("name", catalogue.optimizers())
def test_every_profile_is_a_view_of_the_vocabulary(name):
    """A profile picks one named value per convention, or fixes a hyperparameter (profiles.py checks this on
    import; here it is stated per optimizer)."""
    entry = catalogue.optimizer(name)
    for profile in (p for p, table in profiles.PROFILES.items() if name in table):  # PyTorch has no Lion
        for key, value in profiles.conventions(profile, name).items():
            assert value in entry.conventions[key] if key in entry.conventions else key in entry.hyperparameters


def test_optimizer_lookup_names_the_catalogue():
    assert catalogue.optimizers() == ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "adamax", "nadam",
                                      "lion")
    assert catalogue.optimizer("nadam").scalar_state == ("mu_product",)
    with pytest.raises(ValueError, match=r"catalogue.optimizer: name must be one of sgd, .*, got 'lamb'"):
        catalogue.optimizer("lamb")
    with pytest.raises(TypeError, match="catalogue.optimizer: name must be a str, got int"):
        catalogue.optimizer(1)


def test_training_step_takes_every_catalogue_optimizer():
    layers = [network.Layer(np.array([[1.0]]), None)]
    for name in catalogue.optimizers():
        result = training.step(layers, np.array([[1.0]]), np.array([[3.0]]), optimizer=name, hyper={"lr": 0.0})
        assert result.layers[0].weight.tolist() == [[1.0]], name


def test_networks_and_perceptrons_take_the_catalogues_activations():
    """The module of each elementwise and row-wise entry (not the named variants, which keyword arguments select)."""
    assert list(network._ACTIVATIONS) == ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "gelu",
                                          "silu", "softmax", "log_softmax"]
    assert list(perceptron._ACTIVATIONS) == ["step", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus",
                                             "gelu", "silu"]
    assert list(catalogue.modules("loss")) == ["mean_squared_error", "binary_cross_entropy",
                                               "binary_cross_entropy_with_logits", "softmax_cross_entropy",
                                               "nll_loss", "kl_divergence", "huber"]


@pytest.mark.parametrize("entry", [*catalogue.OPTIMIZERS, *catalogue.FEATURES], ids=lambda entry: entry.name)
def test_each_optimizer_and_feature_cites_a_spec_section_that_exists(entry):
    page, anchor = entry.spec.split("#")
    assert f'<a id="{anchor}"></a>' in (Path(__file__).resolve().parents[2] / page).read_text()
