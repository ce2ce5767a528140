"""Networks that predict the noise (or x_0, or v) from x_t and t: ``linear`` and ``unet1d``."""
