"""Gradient clipping for the TensorFlow backend: Keras clips inside the optimizer (``clipnorm``: each variable's
gradient by its own norm; ``global_clipnorm``: all of them by their global norm; ``clipvalue``), so the adapter
reads the clipped gradient off one step of ``keras.optimizers.SGD(learning_rate=1.0, <clipping>=threshold)``
applied to variables holding zeros.

That step is exact: SGD without momentum assigns ``v - lr * g`` with lr = 1.0 (exact in every float format), so
``1.0 * g`` is ``g`` and ``0 - g`` is ``-g``, without rounding; the clipped gradient is ``-v`` after the step.
Keras clips with the L2 norm only: ``norm_type`` inf is unsupported. docs/spec/gradient-clipping.md
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from nnspec.adapters.base import UnsupportedError
from nnspec.adapters.tensorflow.runtime import as_numpy, floatx, keras, tf

__all__ = ["KerasClippingMixin"]

_ARGUMENT = {"global_norm": "global_clipnorm", "per_tensor_norm": "clipnorm", "value": "clipvalue"}


class KerasClippingMixin:
    """``clip_gradients`` of TensorFlowBackend."""

    CLIPPING_FEATURES: frozenset = frozenset({"gradient_clipping"})
    #: keras/src/optimizers/base_optimizer.py: clip_by_global_norm scales by clip_norm * min(1 / norm, 1 / clip_norm)
    #: + (norm - norm), NaN everywhere for a non-finite norm; _clip_by_norm (clipnorm) divides t * clipnorm by
    #: max(norm, clipnorm): no eps in either
    CLIPPING_CONVENTIONS = MappingProxyType({"gradient_clipping": MappingProxyType(
        {"eps": 0.0, "nonfinite_global_norm": "all_nan"})})

    def clip_gradients(self, mode, grads, hyper, dtype):
        if float(hyper.get("norm_type", 2.0)) != 2.0:
            raise UnsupportedError("tensorflow: Keras clips by the L2 norm only")
        threshold = hyper["clip_value"] if mode == "value" else hyper["max_norm"]
        with floatx(dtype):
            variables = [keras.Variable(np.zeros(np.shape(g)), dtype=dtype) for g in grads]
            sgd = keras.optimizers.SGD(learning_rate=1.0, **{_ARGUMENT[mode]: threshold})
            sgd.apply([tf.constant(g, dtype=dtype) for g in grads], variables)
            return [-as_numpy(v.value) for v in variables]
