"""The networks, one module each; none of them knows about checkpoints (``registry.py`` builds them from a record).

- ``linear``: the exact optimal (Wiener) denoiser for Gaussian data, a learnable linear eps-predictor (chapters 02-03).
- ``mixture``: a mixture of note shapes with its exact, nonlinear denoiser and the best linear one (chapter 03).
- ``unet1d``: the 1D U-Net that denoises a whole clip at once, predicting eps, x_0 or v (chapters 04-06).
- ``wavenet``: the autoregressive baseline, a causal dilated WaveNet on 8-bit mu-law (chapter 07).
"""
