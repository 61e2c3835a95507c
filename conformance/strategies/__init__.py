"""Hypothesis strategies: every input the suite and nnspec's own tests draw comes from here.

Split by domain: ``arrays`` (dtype-exact float arrays), ``activations``, ``losses``, ``layers``. Each strategy
returns float64 numpy arrays whose values are exactly representable in the dtype under test, so a backend and
the float64 reference see the same numbers.
"""
