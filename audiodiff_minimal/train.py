"""The training loop: simple loss, AdamW, warm-up + cosine LR, EMA, exact resume (chapter ``04_unet_on_gpu``).

One step (DDPM Algorithm 1, with any prediction target):
    x_0 ~ data,  t ~ Uniform{1..T},  eps ~ N(0, I),  x_t = sqrt(alpha_bar_t) x_0 + sigma_t eps  (DDPM Eq. 4)
    loss = || f_theta(x_t, t) - target ||^2,  target = eps, x_0 or v = sqrt(alpha_bar_t) eps - sigma_t x_0
Every random draw comes from a seeded generator whose state is saved in the checkpoint, so
``--resume`` continues exactly where a run stopped (bit-identical weights on CPU).

Several processes (chapter ``08``): under ``torchrun --nproc_per_node N`` every rank draws the same
global batch of ``batch_size`` clips from the same generators, keeps its own 1/N shard
(``distributed.shard``), and DDP averages the gradients; so the run equals a single process with the
same global batch, the generator states stay equal on every rank, and resume works unchanged.
Rank 0 alone writes checkpoints and shows progress.

Class-conditional nets (``UNetConfig.num_classes > 0``, chapter ``06``) also get the label of
each toy note, ``pitch * 4 + timbre``; with probability ``cond_dropout`` a label is replaced by
the null label (Ho & Salimans 2022, Algorithm 1), so the same net also learns the unconditional
prediction that classifier-free guidance needs (``guidance.py``). The dropout coins come from
their own seeded generator, saved with the others. Unconditional runs draw exactly as before.

References:
    Ho et al. (2020), DDPM, Algorithm 1 and Eq. (14). Salimans & Ho (2022), v-prediction.
    Nichol & Dhariwal (2021), cosine schedule. Loshchilov & Hutter (2019), AdamW, cosine LR.
    Ho & Salimans (2022), Classifier-Free Diffusion Guidance, Algorithm 1 (label dropout).
"""

import copy
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .checkpoint import SHIPPED_CHECKPOINT, load_checkpoint, load_into, load_training_state, read_config
from .checkpoint import save_checkpoint as write_checkpoint
from .data import WavFolder, draw_toy_notes
from .distributed import Dist, barrier, cleanup, init_distributed, mean_across_ranks, shard
from .forward import q_sample, training_target
from .guidance import NUM_NOTE_CLASSES, drop_labels, note_label
from .models.unet1d import UNET_PRESETS, UNet1D, UNetConfig
from .schedules import make_schedule

__all__ = ["SHIPPED_CHECKPOINT", "TRAIN_PRESETS", "TrainConfig", "load_checkpoint", "train", "train_command"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything about a training run except the network's shape (that is :class:`UNetConfig`)."""

    schedule: str = "cosine"  # noise schedule name (schedules.make_schedule)
    T: int = 1000  # number of diffusion steps
    prediction: str = "v"  # what the net predicts: "eps", "x0" or "v"
    batch_size: int = 16
    steps: int = 8000  # optimizer steps
    lr: float = 1e-3  # peak learning rate
    warmup: int = 200  # linear warm-up steps
    min_lr_frac: float = 0.1  # the cosine decays to lr * min_lr_frac
    weight_decay: float = 0.01
    grad_clip: float = 1.0  # max global grad norm
    ema_decay: float = 0.999  # EMA of the weights, with warm-up (see ema_decay_at)
    bf16: bool = True  # bfloat16 autocast, used on CUDA only
    compile: bool = False  # torch.compile the model
    seed: int = 0
    save_every: int = 200  # steps between checkpoints
    length: int = 4096  # clip length in samples
    sr: int = 8000  # sample rate, Hz
    cond_dropout: float = 0.0  # P(label -> null label) per clip; conditional nets only (Ho & Salimans 2022)

    def __post_init__(self):
        if not 0.0 <= self.cond_dropout <= 1.0:
            raise ValueError(f"TrainConfig: cond_dropout={self.cond_dropout} must be a probability in [0, 1]")


TRAIN_PRESETS = {
    "quick": TrainConfig(batch_size=8, steps=120, lr=3e-3, warmup=10, ema_decay=0.95, save_every=60),
    "laptop": TrainConfig(),
    "gpu": TrainConfig(batch_size=64, steps=100_000, lr=3e-4, warmup=1000, ema_decay=0.9999, save_every=5000),
}
# Class-conditional twins (chapter 06), paired with UNET_PRESETS["*_cond"]: 10 % label dropout.
TRAIN_PRESETS.update({f"{name}_cond": replace(c, cond_dropout=0.1) for name, c in list(TRAIN_PRESETS.items())})


def cosine_decay(progress: float, min_frac: float) -> float:
    """Half a cosine from 1 at ``progress`` 0 down to ``min_frac`` at ``progress`` >= 1 (Loshchilov & Hutter 2017)."""
    return min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (1-based): linear warm-up, then cosine to lr * min_lr_frac."""
    if step <= config.warmup:
        return config.lr * step / max(config.warmup, 1)
    progress = (step - config.warmup) / max(config.steps - config.warmup, 1)
    return config.lr * cosine_decay(progress, config.min_lr_frac)


def ema_decay_at(step: int, decay: float) -> float:
    """EMA decay with warm-up, min(decay, (1 + step) / (10 + step)): early averages forget the random init."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update(ema_model: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """theta_ema <- decay * theta_ema + (1 - decay) * theta, for every parameter (in place)."""
    for p_ema, p in zip(ema_model.parameters(), model.parameters(), strict=True):
        p_ema.lerp_(p.detach(), 1 - decay)


def batch_source(
    data: str | Path, config: TrainConfig, generator: torch.Generator, labels: bool = False, verbose: bool = True
):
    """A function ``draw(B) -> (B, 1, L)`` of clean clips, all randomness from ``generator``.

    ``data="toy"`` draws fresh toy notes (random pitch, timbre, phase, envelope) every call;
    any other value is a folder of audio files (``data.WavFolder``, random crops).
    With ``labels=True`` (toy notes only), ``draw(B)`` returns ``(x0, labels)``: the clips and their
    (B,) int64 classes ``guidance.note_label(pitch, timbre)``, from the very same random draws.
    """
    if str(data) == "toy":

        def draw(B: int):
            x0, pitch, timbre = draw_toy_notes(B, config.length, config.sr, generator)  # (B, 1, L)
            return (x0, note_label(pitch, timbre)) if labels else x0

        return draw
    if labels:
        raise ValueError(f"class-conditional training needs labels, and the audio folder {data} has none; "
                         "use data='toy' or an unconditional UNetConfig (num_classes=0)")  # fmt: skip
    folder = WavFolder(data, sr=config.sr, length=config.length, skip_bad=True)
    if verbose and folder.skipped:
        print(f"{data}: skipped {len(folder.skipped)} bad file(s), training on {len(folder)}:")
        for path, problem in folder.skipped:
            print(f"  {path}: {problem}")
    if verbose and folder.converted:  # resampled or mixed to mono: fine, but the user should know
        print(f"{data}: converted {len(folder.converted)} file(s) to {config.sr} Hz mono, e.g. "
              f"{folder.converted[0][0].name}: {folder.converted[0][1]}")  # fmt: skip

    def draw(B: int) -> torch.Tensor:
        idx = torch.randint(len(folder), (B,), generator=generator)
        # Crops use torch's global RNG (saved too). Under torchrun every rank loads the whole global batch and
        # keeps its shard: loading only its own clips would use up different crop draws on each rank.
        return torch.stack([folder[int(i)]["audio"] for i in idx])

    return draw


@torch.no_grad()
def mean_loss(
    model, x0: torch.Tensor, schedule, prediction: str, n_t: int = 8, seed: int = 0, labels: torch.Tensor | None = None
) -> float:
    """The simple loss averaged over clips ``x0`` (B, 1, L) and ``n_t`` evenly spaced steps, with seeded eps.

    A fixed yardstick for comparing models (the training loss is noisy: it depends on the random t).
    ``model`` is any callable ``model(x_t, t)``; ``lambda x_t, t: 0 * x_t`` gives the loss of predicting zero.
    ``labels`` (B,) int64: call ``model(x_t, t, labels)`` instead (a class-conditional net).
    """
    g = torch.Generator().manual_seed(seed)
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    device = params[0].device if params else x0.device
    total = 0.0
    for t_value in torch.linspace(1, schedule.T, n_t).round().long().tolist():
        t = torch.full((x0.shape[0],), t_value, dtype=torch.long)
        eps = torch.randn(x0.shape, generator=g)
        x_t = q_sample(x0, t, eps, schedule)
        target = training_target(x0, eps, t, schedule, prediction)
        args = (x_t.to(device), t.to(device)) + (() if labels is None else (labels.to(device),))
        total += F.mse_loss(model(*args).float().cpu(), target).item()
    return total / n_t


@dataclass
class TrainResult:
    """What :func:`train` returns: both models (on the training device), the loss log and the speed."""

    model: UNet1D  # raw weights
    ema_model: UNet1D  # EMA weights: sample with these
    losses: list  # loss at every step since step 1 (resumed runs include the earlier steps)
    step: int
    samples_per_s: float  # training throughput in this call (forward + backward + AdamW step)
    out: Path | None


def train(
    unet_config: UNetConfig,
    config: TrainConfig,
    data: str | Path = "toy",
    out: str | Path | None = None,
    resume: bool = False,
    device: str | torch.device | None = None,
    until: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a :class:`UNet1D` with the simple diffusion loss; checkpoint into ``out``.

    Args:
        unet_config: the network.  config: the run.  data: "toy" or a folder of audio files.
        out: checkpoint folder (None: keep nothing on disk).  resume: continue from the checkpoint in
            ``out`` (its TrainConfig is used, except ``steps``, which ``config`` may change).
        device: default :func:`get_device`; under torchrun each rank takes its own GPU (or the CPU).
        until: stop after this step as if interrupted (a later ``resume=True`` call continues exactly).
        progress: show a tqdm bar (rank 0 only).
    Raises:
        FloatingPointError if the loss or the weights stop being finite; the last good checkpoint stays.
    """
    d: Dist = init_distributed(str(device) if device is not None else None)  # one process unless under torchrun
    device = d.device
    if config.batch_size % d.world_size:
        raise ValueError(f"batch_size {config.batch_size} (the global batch) must be divisible by the "
                         f"{d.world_size} processes")  # fmt: skip
    out = Path(out) if out is not None else None
    has_ckpt = out is not None and (out / "config.json").is_file()
    if has_ckpt and not resume:
        raise FileExistsError(f"{out} already holds a checkpoint; pass resume=True (--resume) or choose another out")
    if resume and has_ckpt:
        saved = read_config(out)
        config = replace(TrainConfig(**saved["train"]), steps=config.steps)
    conditional = unet_config.num_classes > 0
    if conditional and unet_config.num_classes < NUM_NOTE_CLASSES:
        raise ValueError(f"UNetConfig(num_classes={unet_config.num_classes}) is too small for the "
                         f"{NUM_NOTE_CLASSES} toy-note classes; use num_classes={NUM_NOTE_CLASSES}")  # fmt: skip
    if config.cond_dropout > 0 and not conditional:
        raise ValueError(f"cond_dropout={config.cond_dropout} needs a class-conditional UNetConfig (num_classes > 0)")
    torch.manual_seed(config.seed)  # the initial weights and dropout
    model = UNet1D(unet_config)
    g_data, g_noise = torch.Generator().manual_seed(config.seed), torch.Generator().manual_seed(config.seed + 1)
    g_label = torch.Generator().manual_seed(config.seed + 2)  # label-dropout coins (conditional nets only)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    ema_model = copy.deepcopy(model).requires_grad_(False)
    step, losses, wall = 0, [], 0.0
    if resume and has_ckpt:
        load_into(model, out, ema=False)  # raises naming both configs on a mismatch
        load_into(ema_model, out, ema=True)
        state = load_training_state(out)
        opt.load_state_dict(state["optimizer"])
        step, wall = state["step"], state["wall_time_s"]
        g_data.set_state(state["rng"]["data"])
        g_noise.set_state(state["rng"]["noise"])
        if "label" in state["rng"]:  # absent in checkpoints saved before label dropout existed
            g_label.set_state(state["rng"]["label"])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], device)
        losses = list(state["losses"])
    elif resume and d.is_main:
        print(f"{out}: no checkpoint yet, starting from step 0")
    model.to(device).train()
    ema_model.to(device).eval()
    net = model
    if d.world_size > 1:  # averages the gradients over the ranks during backward
        print(f"rank {d.rank} of {d.world_size} on {device}: {config.batch_size // d.world_size} of the "
              f"{config.batch_size} clips of every global batch", flush=True)  # fmt: skip
        ids = [device.index] if device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    net = torch.compile(net) if config.compile else net
    schedule = make_schedule(config.schedule, config.T)
    draw = batch_source(data, config, g_data, labels=conditional, verbose=d.is_main)
    use_bf16 = config.bf16 and device.type == "cuda"

    def save():
        if not all(torch.isfinite(p).all() for p in model.parameters()):  # the same on every rank
            raise FloatingPointError(
                f"weights not finite at step {step}; lower the learning rate; kept the last good checkpoint in {out}"
            )
        if not d.is_main:  # one checkpoint writer
            return
        rng = {"data": g_data.get_state(), "noise": g_noise.get_state(), "label": g_label.get_state(),
               "torch": torch.get_rng_state()}  # fmt: skip
        if device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(device)
        info = {"format_version": 1, "step": step, "prediction": config.prediction, "sr": config.sr,
                "length": config.length, "unet": asdict(unet_config), "train": asdict(config),
                "schedule": schedule.to_dict(), "data": str(data), "wall_time_s": wall}  # fmt: skip
        write_checkpoint(out, {
            "model.safetensors": ema_model.state_dict(), "model_raw.safetensors": model.state_dict(),
            "optimizer.pt": {"optimizer": opt.state_dict(), "step": step, "rng": rng, "losses": losses,
                             "wall_time_s": wall},
            "loss_log.json": {"step": list(range(1, len(losses) + 1)), "loss": losses},
            "config.json": info})  # fmt: skip

    last = min(config.steps, until) if until is not None else config.steps
    bar = tqdm(total=last, initial=step, disable=not (progress and d.is_main), desc="train", unit="step")
    t_start, n_done = time.perf_counter(), 0
    while step < last:
        t0 = time.perf_counter()
        # The global batch, drawn alike on every rank; each rank then keeps its shard (all of it for one process).
        x0, labels = draw(config.batch_size) if conditional else (draw(config.batch_size), None)  # (B, 1, L), (B,)
        if conditional:  # label dropout, Ho & Salimans (2022) Algorithm 1
            labels = shard(drop_labels(labels, config.cond_dropout, unet_config.null_label, g_label), d).to(device)
        t = torch.randint(1, config.T + 1, (config.batch_size,), generator=g_noise)
        eps = torch.randn(x0.shape, generator=g_noise)  # drawn on the CPU: same numbers on every device
        x0, t, eps = shard(x0, d).to(device), shard(t, d).to(device), shard(eps, d).to(device)  # (B/N, 1, L)
        x_t = q_sample(x0, t, eps, schedule)  # DDPM Eq. (4)
        target = training_target(x0, eps, t, schedule, config.prediction)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            output = net(x_t, t) if labels is None else net(x_t, t, labels)
        loss = F.mse_loss(output.float(), target)  # DDPM Eq. (14) for eps; same form for x0 and v; this shard
        global_loss = mean_across_ranks(loss.detach(), d)  # the mean over the global batch (equal shards)
        if not torch.isfinite(global_loss):  # the same verdict on every rank
            where = f"the last good checkpoint in {out} is kept" if out is not None else "nothing was saved"
            raise FloatingPointError(f"loss is {global_loss.item()} at step {step + 1} "
                                     f"(lr {lr_at(step + 1, config):.3g}); "
                                     f"lower the learning rate or check the data; {where}")  # fmt: skip
        step += 1
        for group in opt.param_groups:
            group["lr"] = lr_at(step, config)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # with DDP: gradients averaged over the ranks = the global batch's gradient (Eq. 8.1)
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        ema_update(ema_model, model, ema_decay_at(step, config.ema_decay))
        losses.append(global_loss.item())
        wall += time.perf_counter() - t0
        n_done += 1
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{sum(losses[-10:]) / 10:.4f}")
        if out is not None and (step % config.save_every == 0 or step == last):
            save()
            barrier(d)  # no rank runs ahead of a checkpoint
    bar.close()
    elapsed = time.perf_counter() - t_start
    return TrainResult(model, ema_model, losses, step, n_done * config.batch_size / max(elapsed, 1e-9), out)


def train_command(
    config: str, data: str, out: str, resume: bool = False, steps: int | None = None, device: str | None = None
) -> TrainResult:
    """``python -m audiodiff_minimal train --config NAME --data toy|PATH --out runs/NAME [--resume] [--steps N]``."""
    if config not in TRAIN_PRESETS:
        raise ValueError(f"unknown config {config!r}; choose one of {sorted(TRAIN_PRESETS)}")
    train_config = TRAIN_PRESETS[config] if steps is None else replace(TRAIN_PRESETS[config], steps=steps)
    if resume and steps is None and (Path(out) / "config.json").is_file():
        train_config = replace(train_config, steps=read_config(out)["train"]["steps"])
    result = train(UNET_PRESETS[config], train_config, data, out, resume=resume, device=device)
    d = init_distributed(device)  # the process group train() joined (or one process)
    tail = result.losses[-100:]
    if d.is_main:
        print(f"step {result.step}: mean loss of the last {len(tail)} steps {sum(tail) / max(len(tail), 1):.4f}, "
              f"{result.samples_per_s:.1f} samples/s over {d.world_size} process(es); checkpoint in {out}")  # fmt: skip
    cleanup(d)
    return result
