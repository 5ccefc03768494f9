"""SigWeb's verification engine: pure PyTorch and NumPy, no Django.

One concept per module: ``strokes`` (pad strokes: parse, render, quality),
``preprocess`` (any image or stroke set to a normalised tensor), ``models`` (the network
registry), ``losses``, ``samplers``, ``augment``, ``data``, ``config`` (training
configuration), ``validation`` (the validation writers and per-epoch EER), ``train``,
``calibration`` (the writer-dependent decision fitted on validation writers),
``selection`` (the rule that decides which model ships), ``metrics``, ``evaluate``,
``writer`` (writer-dependent decisions), ``engine`` (the interface the web app uses),
``ensemble``, ``export`` and ``cli``.
"""

__version__ = "0.1.0"
