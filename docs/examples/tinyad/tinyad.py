"""tinyad: a tiny reverse-mode autodiff library on numpy arrays (about 100 lines), the "framework nnspec does
not ship" of docs/tutorial-your-framework.md. Written the way small frameworks are: straightforward formulas.

    >>> x = Tensor([1.0, -2.0]); y = relu(x).sum(); y.backward(); x.grad
    array([1., 0.])
"""

from __future__ import annotations

import numpy as np


class Tensor:
    """An array that remembers how it was computed, so that ``backward`` can apply the chain rule."""

    def __init__(self, data, dtype=None, _parents=(), _backward=None):
        self.data = np.array(data, dtype=dtype)  # a copy: tinyad never writes into its caller's arrays
        self.grad = None
        self._parents, self._backward = _parents, _backward

    def backward(self, grad=None):
        """Accumulate d(self)/d(leaf) * grad into every leaf's ``grad`` (grad defaults to ones)."""
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node._parents:
                    visit(parent)
                order.append(node)

        visit(self)
        self.grad = np.ones_like(self.data) if grad is None else np.asarray(grad, dtype=self.data.dtype)
        for node in reversed(order):
            if node._backward is not None:
                for parent, contribution in zip(node._parents, node._backward(node.grad)):
                    parent.grad = contribution if parent.grad is None else parent.grad + contribution

    def __add__(self, other):
        return Tensor(self.data + other.data, None, (self, other),
                      lambda g: (_unbroadcast(g, self.data.shape), _unbroadcast(g, other.data.shape)))

    def __sub__(self, other):
        return Tensor(self.data - other.data, None, (self, other),
                      lambda g: (_unbroadcast(g, self.data.shape), -_unbroadcast(g, other.data.shape)))

    def __mul__(self, other):
        return Tensor(self.data * other.data, None, (self, other),
                      lambda g: (_unbroadcast(g * other.data, self.data.shape),
                                 _unbroadcast(g * self.data, other.data.shape)))

    def __matmul__(self, other):
        return Tensor(self.data @ other.data, None, (self, other),
                      lambda g: (g @ other.data.T, self.data.T @ g))

    def sum(self):
        return Tensor(self.data.sum(), None, (self,), lambda g: (np.broadcast_to(g, self.data.shape).copy(),))

    def mean(self):
        n = self.data.size
        return Tensor(self.data.sum() / n, None, (self,),
                      lambda g: (np.broadcast_to(g / n, self.data.shape).copy(),))


def _unbroadcast(grad, shape):
    """Sum a gradient over the axes that broadcasting added or stretched, back to ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def relu(x: Tensor) -> Tensor:
    return Tensor(np.maximum(x.data, 0), None, (x,), lambda g: (g * (x.data > 0),))


def sigmoid(x: Tensor) -> Tensor:
    s = 1 / (1 + np.exp(-x.data))
    return Tensor(s, None, (x,), lambda g: (g * s * (1 - s),))


def tanh(x: Tensor) -> Tensor:
    t = np.tanh(x.data)
    return Tensor(t, None, (x,), lambda g: (g * (1 - t * t),))


def softplus(x: Tensor) -> Tensor:
    y = np.log(1 + np.exp(x.data))  # the textbook formula
    return Tensor(y, None, (x,), lambda g: (g / (1 + np.exp(-x.data)),))
