"""The TensorFlow / Keras backend, one module per role: ``runtime`` (the quiet TensorFlow and Keras import,
``floatx``), ``tables`` (activations, losses, conventions), ``model`` (the one model builder), ``backend``
(``TensorFlowBackend``: primitives and the network), ``training`` (dropout, early stopping, the training step) and
``known_issues``.

Import ``nnspec.adapters.tensorflow.backend`` for the backend; this package itself imports no framework.
"""
