"""nnspec: an executable specification of neural-network training primitives.

The package has three parts, each importable on its own:

- ``nnspec.reference``: a slow, readable numpy implementation that says what each primitive must compute;
- ``nnspec.conformance``: a pytest + Hypothesis suite that holds a backend to the reference;
- ``nnspec.adapters``: the protocol a framework implements to be judged, and the adapters nnspec ships.
"""

__version__ = "0.1.0"
