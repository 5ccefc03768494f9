"""SigWeb's verification engine: pure PyTorch and NumPy, no Django.

One concept per module: ``preprocess`` (images and pad strokes to a normalised
tensor), ``models`` (the network registry), ``losses``, ``samplers``, ``augment``,
``data``, ``train``, ``metrics``, ``evaluate``, ``writer`` (writer-dependent decisions),
``engine`` (the interface the web app uses), ``export`` and ``cli``.
"""

__version__ = "0.1.0"
