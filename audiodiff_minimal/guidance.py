"""Class labels for the toy notes and classifier-free guidance (chapter ``06``).

A class-conditional denoiser f_theta(x_t, t, c) (``UNet1D`` with ``num_classes > 0``) is trained
with label dropout: with probability p_uncond the label c is replaced by the null label, so one
network learns both f(x_t, t, c) and f(x_t, t, null) (Ho & Salimans 2022, Algorithm 1). At
sampling time the two are mixed (Ho & Salimans 2022, Eq. 6, written with s = 1 + w)::

    f_guided = f(x_t, t, null) + s * (f(x_t, t, c) - f(x_t, t, null))              (6.1)
             = (1 + w) f(x_t, t, c) - w f(x_t, t, null),      s = 1 + w

s = 0 is the unconditional model, s = 1 the plain conditional one, s > 1 pushes samples towards
what makes the label likely (more typical notes, less variety). The weights (1 - s) and s sum
to 1, so guiding v, x0 or eps gives the same result once converted at a fixed x_t and t:
every conversion in ``forward.to_x0_eps`` is affine in the prediction. Like every sampler input,
the guided model denoises the whole clip in parallel; nothing here is autoregressive.

Labels of the toy notes (``data.note_label``): ``label = pitch * len(TIMBRE_NAMES) + timbre``, 8 x 4 = 32 classes.

References:
    Ho & Salimans (2022), Classifier-Free Diffusion Guidance, Algorithm 1 and Eq. (6).
    Dhariwal & Nichol (2021), Diffusion Models Beat GANs (class embeddings, classifier guidance).
"""

from collections.abc import Callable

import torch


def drop_labels(labels: torch.Tensor, p_uncond: float, null_label: int, generator: torch.Generator) -> torch.Tensor:
    """Label dropout, Ho & Salimans (2022) Algorithm 1: c <- null with probability ``p_uncond``, per clip.

    Args:
        labels: (B,) int64 class labels.  p_uncond: drop probability in [0, 1].
        null_label: the index meaning "no label".  generator: a seeded CPU generator (the coins).
    Returns:
        (B,) int64 labels on ``labels.device``, some replaced by ``null_label``.
    """
    drop = torch.rand(labels.shape, generator=generator) < p_uncond  # (B,) coins, drawn on the CPU
    return torch.where(drop.to(labels.device), torch.full_like(labels, null_label), labels)


def _as_labels(labels, batch: int, device: torch.device) -> torch.Tensor:
    """An int or (B,) labels -> (B,) int64 on ``device``."""
    labels = torch.as_tensor(labels, device=device)
    if labels.dim() == 0:
        return labels.long().expand(batch)
    if labels.shape != (batch,):
        raise ValueError(f"labels shaped {tuple(labels.shape)} do not match a batch of {batch} clips")
    return labels.long()


def conditional_model(model, labels) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``(x_t, t) -> model(x_t, t, labels)``: a conditional net as a plain sampler model (no guidance).

    Args:
        model: a net called as ``model(x_t, t, labels)``.  labels: int or (B,) int64 class labels.
    """

    def cond(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return model(x_t, t, _as_labels(labels, x_t.shape[0], x_t.device))

    return cond


def guided_model(
    model, labels, scale: float, null_label: int | None = None
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Classifier-free guidance (Ho & Salimans 2022, Eq. 6) as a callable for every sampler.

    The conditional and unconditional predictions come from one forward pass on a batch of 2B
    (x_t twice; labels, then null labels), then are mixed by Eq. (6.1) of the module docstring:
    ``uncond + scale * (cond - uncond)``. ``scale = 1 + w`` in the paper's notation; 1 gives the
    conditional model, 0 the unconditional one.

    Args:
        model: a net called as ``model(x_t, t, labels)`` (e.g. a conditional ``UNet1D``).
        labels: int (the same class for every clip) or (B,) int64 class labels.
        scale: the guidance scale s >= 0 (typical 1 to 5).
        null_label: the label index meaning "no label" (default ``model.config.null_label``).
    Returns:
        ``guided(x_t, t)``: x_t (B, 1, L), t (B,) -> (B, 1, L) guided prediction (same kind as the net's).
    """
    if null_label is None:
        config = getattr(model, "config", None)
        if config is None or getattr(config, "num_classes", 0) == 0:
            raise ValueError("guided_model needs a class-conditional model (UNetConfig(num_classes > 0)) "
                             "or an explicit null_label")  # fmt: skip
        null_label = config.null_label

    def guided(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        B = x_t.shape[0]
        c = _as_labels(labels, B, x_t.device)
        both = torch.cat([c, torch.full_like(c, null_label)])  # (2B,): labels, then null
        t2 = t.to(x_t.device).reshape(-1).expand(B).repeat(2)  # (2B,)
        cond, uncond = model(x_t.repeat(2, 1, 1), t2, both).chunk(2)  # each (B, 1, L)
        return uncond + scale * (cond - uncond)  # Ho & Salimans (2022) Eq. (6), s = 1 + w

    return guided
