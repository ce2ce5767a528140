"""One training loop for every model: warm-up + cosine LR, EMA, exact resume (chapter ``04_unet_on_gpu``).

:func:`train` takes a built module, a loss, a batch source and a stop rule, and runs the one loop that
every model in the book uses (the U-Net, the WaveNet of chapter 07, the equal-time benchmark)::

    state = train(model, loss, batches, Stop(steps=8000), state, lr=1e-3, warmup=200, ema_decay=0.999)

One step of a diffusion model (DDPM Algorithm 1, any prediction target; ``losses.diffusion_loss``):
    x_0 ~ data,  t ~ Uniform{1..T},  eps ~ N(0, I),  x_t = sqrt(alpha_bar_t) x_0 + sigma_t eps  (DDPM Eq. 4)
    loss = || f_theta(x_t, t) - target ||^2,  target = eps, x_0 or v = sqrt(alpha_bar_t) eps - sigma_t x_0
Every random draw comes from a seeded generator held by the :class:`TrainState` (with the optimizer, the
EMA weights, the step and the losses), which saves and loads as a whole, so ``--resume`` continues exactly
where a run stopped (bit-identical weights on CPU).

Several processes (chapter ``08``): under ``torchrun --nproc_per_node N`` every rank draws the same
global batch of ``batch_size`` clips from the same generators, keeps its own 1/N shard
(``distributed.shard``), and DDP averages the gradients; so the run equals a single process with the
same global batch, the generator states stay equal on every rank, and resume works unchanged.
Rank 0 alone writes checkpoints and shows progress. The process group is joined and left by the
command line (``cli.py``); :func:`train_unet` takes the resulting :class:`distributed.Dist`.

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

import contextlib
import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import speech
from .checkpoint import (
    CheckpointError,
    Record,
    check_finite,
    read_record,
    read_state,
    read_weights,
    save_checkpoint,
)
from .data import LENGTH, NUM_NOTE_CLASSES, SR, WavFolder, draw_toy_notes, note_label
from .distributed import Dist, barrier, mean_across_ranks, shard
from .flow import flow_matching_loss
from .guidance import drop_labels
from .losses import autoregressive_loss, diffusion_loss
from .models.classifier import ClassifierConfig, NoteClassifier, augment
from .models.unet1d import UNet1D, UNetConfig
from .models.wavenet import WaveNet
from .schedules import make_schedule
from .utils import cosine_decay, get_device

__all__ = ["TRAIN_PRESETS", "Stop", "TrainConfig", "TrainResult", "TrainState", "train", "train_classifier",
           "train_speech", "train_unet", "train_wavenet"]  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """Everything about a U-Net training run except the network's shape (that is :class:`UNetConfig`)."""

    schedule: str = "cosine"  # noise schedule name (schedules.make_schedule)
    T: int = 1000  # number of diffusion steps
    prediction: str = "v"  # what the net predicts: "eps", "x0", "v", or "fm" (flow matching, flow.py; then the
    # schedule is unused and the net sees the time 0 <= t <= 1 as T * t)
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


# --------------------------------------------------------------------------- learning rate, EMA, stop rule


def warmup_cosine(step: int, progress: float, lr: float, warmup: int, min_frac: float) -> float:
    """The learning rate of optimizer step ``step`` (1-based): lr * step / warmup for the first ``warmup`` steps,
    then half a cosine from lr to lr * min_frac as ``progress`` (the fraction of the decay phase done) goes 0 -> 1."""
    if step <= warmup:
        return lr * step / warmup
    return lr * cosine_decay(progress, min_frac)


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (1-based) of a run of ``config.steps`` steps."""
    progress = (step - config.warmup) / max(config.steps - config.warmup, 1)
    return warmup_cosine(step, progress, config.lr, config.warmup, config.min_lr_frac)


def ema_decay_at(step: int, decay: float) -> float:
    """EMA decay with warm-up, min(decay, (1 + step) / (10 + step)): early averages forget the random init."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update(ema_model: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """theta_ema <- decay * theta_ema + (1 - decay) * theta, for every parameter (in place)."""
    for p_ema, p in zip(ema_model.parameters(), model.parameters(), strict=True):
        p_ema.lerp_(p.detach(), 1 - decay)


@dataclass(frozen=True)
class Stop:
    """When a run ends: after ``steps`` optimizer steps, or once ``cpu_s`` seconds of this process's CPU time
    (``time.process_time``) went into training steps. The cosine of the learning rate ends there too.
    ``until``: stop after this step as if interrupted (a resumed run continues the same schedule)."""

    steps: int | None = None
    cpu_s: float | None = None
    until: int | None = None

    def __post_init__(self):
        if (self.steps is None) == (self.cpu_s is None):
            raise ValueError(f"Stop: give steps or cpu_s, not both or neither (got steps={self.steps}, "
                             f"cpu_s={self.cpu_s})")  # fmt: skip
        if (self.steps or 1) < 1 or (self.cpu_s is not None and not self.cpu_s > 0):
            raise ValueError(f"Stop: steps={self.steps} / cpu_s={self.cpu_s} must be positive")

    def done(self, state: "TrainState") -> bool:
        if self.until is not None and state.step >= self.until:
            return True
        return state.step >= self.steps if self.steps is not None else state.cpu_time_s >= self.cpu_s

    def progress(self, step: int, cpu_s: float, warmup: int) -> float:
        """The fraction of the cosine phase done at optimizer step ``step``, ``cpu_s`` CPU seconds in."""
        if self.steps is not None:
            return (step - warmup) / max(self.steps - warmup, 1)
        return cpu_s / self.cpu_s


# --------------------------------------------------------------------------- the training state


@dataclass
class TrainState:
    """Everything a run needs to continue exactly; :meth:`state_dict` / :meth:`load_state_dict` as a whole.

    ``generators`` are the run's seeded CPU generators by name (the batch source and the loss draw from
    the same objects, so loading restores their streams); torch's global RNG (dropout, WAV crops) and
    CUDA's are saved as well.
    """

    optimizer: torch.optim.Optimizer
    ema: torch.nn.Module | None = None  # the EMA copy of the model (None: no EMA)
    generators: dict[str, torch.Generator] = field(default_factory=dict)
    step: int = 0  # optimizer steps taken
    losses: list[float] = field(default_factory=list)  # the loss of every step since step 1
    wall_time_s: float = 0.0  # seconds spent in training steps (time.perf_counter)
    cpu_time_s: float = 0.0  # CPU seconds spent in training steps (time.process_time)

    def _device(self) -> torch.device:
        return self.optimizer.param_groups[0]["params"][0].device

    def state_dict(self) -> dict:
        rng = {name: g.get_state() for name, g in self.generators.items()} | {"torch": torch.get_rng_state()}
        if self._device().type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self._device())
        return {"optimizer": self.optimizer.state_dict(), "ema": self.ema.state_dict() if self.ema else None,
                "rng": rng, "step": self.step, "losses": list(self.losses), "wall_time_s": self.wall_time_s,
                "cpu_time_s": self.cpu_time_s}  # fmt: skip

    def load_state_dict(self, state: dict, where: str | Path = "training state") -> None:
        """Restore everything; every floating-point tensor is checked finite first (naming ``where``)."""
        check_finite(dict(_tensors(state)), str(where))
        self.optimizer.load_state_dict(state["optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        for name, g in self.generators.items():
            if name in state["rng"]:  # "label" is absent in runs saved before label dropout existed
                g.set_state(state["rng"][name])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and self._device().type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self._device())
        self.step, self.losses = state["step"], list(state["losses"])
        self.wall_time_s, self.cpu_time_s = state["wall_time_s"], state.get("cpu_time_s", 0.0)


def _tensors(tree, prefix: str = ""):
    """(name, tensor) for every tensor in nested dicts and lists, names like ``ema.down.0.weight``."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list | tuple) else ()
    for key, value in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, torch.Tensor):
            yield name, value
        else:
            yield from _tensors(value, name)


# --------------------------------------------------------------------------- the loop


class Diverged(FloatingPointError):
    """The loss or the weights stopped being finite; ``step`` is the step that failed."""

    def __init__(self, message: str, step: int, loss: float):
        super().__init__(message)
        self.step, self.loss = step, loss


def optimizer_step(model: torch.nn.Module, loss: torch.Tensor, state: TrainState, lr: float, grad_clip: float | None,
                   ema_decay: float) -> None:  # fmt: skip
    """Backward, clip the global gradient norm, one optimizer step at ``lr``, then the EMA (if the state has one)."""
    state.step += 1
    for group in state.optimizer.param_groups:
        group["lr"] = lr
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()  # with DDP: gradients averaged over the ranks = the global batch's gradient (Eq. 8.1)
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    state.optimizer.step()
    if state.ema is not None:
        ema_update(state.ema, model, ema_decay_at(state.step, ema_decay))


def train(
    model: torch.nn.Module,
    loss: Callable,
    batches: Callable,
    stop: Stop,
    state: TrainState | None = None,
    *,
    lr: float = 1e-3,
    warmup: int = 0,
    min_lr_frac: float = 0.1,
    grad_clip: float | None = 1.0,
    ema_decay: float = 0.999,
    dist: Dist | None = None,
    bf16: bool = False,
    compile: bool = False,
    save: Callable[[TrainState], None] | None = None,
    save_every: int = 0,
    progress: bool = True,
    desc: str = "train",
) -> TrainState:
    """The training loop: ``loss(net, batches())`` -> backward -> clip -> optimizer step -> EMA, until ``stop``.

    Args:
        model: a built module on its device.  loss: ``loss(net, batch) -> () tensor`` (``losses.py``).
        batches: ``batches() -> batch``, drawing from the state's generators.  stop: a :class:`Stop`.
        state: optimizer, EMA, generators, step (default: AdamW without weight decay and no EMA).
        lr, warmup, min_lr_frac: the learning rate (:func:`warmup_cosine`).  grad_clip: max global norm (None: off).
        ema_decay: the EMA's decay (:func:`ema_decay_at`).  dist: the process group (default: one process).
        bf16: bfloat16 autocast (CUDA only).  compile: ``torch.compile`` the net.
        save: called with the state on rank 0 every ``save_every`` steps and when the run stops.
    Returns:
        the state (also updated in place).
    Raises:
        Diverged (a FloatingPointError) when the loss or, at a save, the weights stop being finite.
    """
    device = next(model.parameters()).device
    d = dist or Dist(0, 1, device)
    state = state or TrainState(torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0))
    net = model if d.world_size == 1 else torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)  # fmt: skip
    net = torch.compile(net) if compile else net
    by_time = stop.cpu_s is not None
    total = round(stop.cpu_s) if by_time else min(stop.steps, stop.until or stop.steps)
    initial = min(round(state.cpu_time_s), total) if by_time else state.step
    progress_bar = tqdm(total=total, initial=initial, disable=not (progress and d.is_main), desc=desc,
                        unit="CPU s" if by_time else "step")  # fmt: skip
    use_bf16 = bf16 and device.type == "cuda"  # autocast only where bf16 pays; other devices may not support it
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()
    model.train()
    with progress_bar as bar:  # closed (and its line ended) even when the run stops with an error
        while not stop.done(state):
            wall, cpu = time.perf_counter(), time.process_time()
            step_lr = warmup_cosine(state.step + 1, stop.progress(state.step + 1, state.cpu_time_s, warmup), lr, warmup,
                                    min_lr_frac)  # fmt: skip
            with autocast:
                value = loss(net, batches())
            global_loss = mean_across_ranks(value.detach(), d)  # the global batch's mean (equal shards)
            if not torch.isfinite(global_loss):  # the same verdict on every rank, before the step is taken
                bad = global_loss.item()
                raise Diverged(f"loss is {bad} at step {state.step + 1} (lr {step_lr:.3g}); lower the learning rate "
                               "or check the data", state.step + 1, bad)  # fmt: skip
            optimizer_step(model, value, state, step_lr, grad_clip, ema_decay)
            state.losses.append(global_loss.item())
            state.wall_time_s += time.perf_counter() - wall
            state.cpu_time_s += time.process_time() - cpu
            bar.update(min(round(state.cpu_time_s), total) - bar.n if by_time else 1)
            if state.step % 10 == 0:
                bar.set_postfix(loss=f"{sum(state.losses[-10:]) / 10:.4f}")
            if save is not None and (state.step % save_every == 0 or stop.done(state)):
                _check_weights(model, state)  # on every rank: all of them stop together
                if d.is_main:
                    save(state)
                barrier(d)  # no rank runs ahead of a checkpoint
    return state


def _check_weights(model: torch.nn.Module, state: TrainState) -> None:
    weights = {f"model.{k}": v for k, v in model.state_dict().items()}
    if state.ema is not None:
        weights |= {f"ema.{k}": v for k, v in state.ema.state_dict().items()}
    try:
        check_finite(weights, f"step {state.step}")
    except FloatingPointError as err:
        raise Diverged(f"weights not finite: {err}; lower the learning rate", state.step, float("nan")) from None


# --------------------------------------------------------------------------- the U-Net


def batch_source(
    data: str | Path, config: TrainConfig, generator: torch.Generator, labels: bool = False, verbose: bool = True
):
    """A function ``draw(B) -> (B, 1, L)`` of clean clips, all randomness from ``generator``.

    ``data="toy"`` draws fresh toy notes (random pitch, timbre, phase, envelope) every call;
    any other value is a folder of audio files (``data.WavFolder``, random crops).
    With ``labels=True`` (toy notes only), ``draw(B)`` returns ``(x0, labels)``: the clips and their
    (B,) int64 classes ``note_label(pitch, timbre)``, from the very same random draws.
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
    if verbose:  # before the first step: what the run will see
        print(folder.summary())
        for path, problem in folder.skipped:
            print(f"  skipped {path}: {problem}")
        for path, reason in folder.ignored:
            print(f"  ignored {path}: {reason}")
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
    """The diffusion loss averaged over clips ``x0`` (B, 1, L) and ``n_t`` evenly spaced steps, with seeded eps.

    A fixed yardstick for comparing models (the training loss is noisy: it depends on the random t).
    ``model`` is any callable ``model(x_t, t)``; ``lambda x_t, t: 0 * x_t`` gives the loss of predicting zero.
    ``labels`` (B,) int64: call ``model(x_t, t, labels)`` instead (a class-conditional net).
    Clips and labels go to the model's device (a module's parameters), t and eps follow them.
    """
    g = torch.Generator().manual_seed(seed)
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    x0 = x0.to(params[0].device) if params else x0
    total = 0
    for t_value in torch.linspace(1, schedule.T, n_t).round().long().tolist():
        t = torch.full((x0.shape[0],), t_value, dtype=torch.long)
        total = total + diffusion_loss(model, x0, schedule, prediction, g, labels, t=t).float()
    return (total / n_t).item()


@dataclass
class TrainResult:
    """What :func:`train_unet` returns: both models (on the training device), the loss log and the speed."""

    model: UNet1D  # raw weights
    ema_model: UNet1D  # EMA weights: sample with these
    losses: list  # loss at every step since step 1 (resumed runs include the earlier steps)
    step: int
    samples_per_s: float  # training throughput in this call (forward + backward + AdamW step)
    out: Path | None


def _saved_train_config(record: Record, out: Path) -> TrainConfig:
    try:
        return TrainConfig(**{k: v for k, v in record.train.items() if k != "speech"})  # "speech": train_speech
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{out / 'config.json'}: the training config is not a TrainConfig: {err}") from err


def _where_saved(out: Path | None) -> str:
    """Where the last good checkpoint is, as it stands on disk (for the message of a failed run)."""
    if out is None:
        return "nothing was saved (no out folder)"
    if not (out / "config.json").is_file():
        return f"no checkpoint was written to {out}"
    return f"the last good checkpoint, step {read_record(out).step}, is kept in {out}"


def _open_unet_run(unet_config: UNetConfig, config: TrainConfig, data: str, out, resume: bool, d: Dist):
    """Check the run against the processes and against the checkpoint already in ``out``.

    Returns (out as a Path or None, the saved Record or None, the TrainConfig to use: a resumed run keeps its saved
    one, except ``steps``). ``data`` is the name the Record stores (a folder, "toy", "fsdd-vocoder").
    """
    if config.batch_size % d.world_size:
        raise ValueError(f"batch_size {config.batch_size} (the global batch) must be divisible by the "
                         f"{d.world_size} processes")  # fmt: skip
    out = Path(out) if out is not None else None
    record = read_record(out) if out is not None and (out / "config.json").is_file() else None
    if record is not None and not resume:
        raise FileExistsError(f"{out} already holds a checkpoint; pass resume=True (--resume) or choose another out")
    if record is not None:
        try:
            saved = UNetConfig(**record.model) if record.kind == "unet" else record.model
        except (TypeError, ValueError) as err:
            raise CheckpointError(
                f"{out / 'config.json'}: the model config does not build a UNetConfig: {err}"
            ) from err
        if saved != unet_config:
            raise ValueError(f"checkpoint {out} holds a UNet1D with {saved}, but this run asks for {unet_config}")
        if data != record.data:
            raise ValueError(f"checkpoint {out} was trained on data={record.data}, not {data}; resume with that data")
        config = replace(_saved_train_config(record, out), steps=config.steps)
    return out, record, config


def _unet_state(unet_config: UNetConfig, config: TrainConfig, out, record, resume: bool, d: Dist):
    """The seeded U-Net and its :class:`TrainState` (AdamW, EMA, generators "data", "noise", "label"), loaded from
    the checkpoint ``record`` in ``out`` if there is one. Returns (model on ``d.device``, state)."""
    torch.manual_seed(config.seed)  # the initial weights and dropout
    model = UNet1D(unet_config).to(d.device)
    g = {name: torch.Generator().manual_seed(config.seed + i) for i, name in enumerate(("data", "noise", "label"))}
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    state = TrainState(opt, copy.deepcopy(model).requires_grad_(False).eval(), g)
    if record is not None:
        model.load_state_dict(read_weights(out, record, ema=False))
        ema_weights = read_weights(out, record, ema=True)  # checked too, though the state holds the EMA
        state.load_state_dict({"ema": ema_weights} | read_state(out), out / "optimizer.pt")  # format 1: no "ema"
    elif resume and d.is_main:
        print(f"{out}: no checkpoint yet, starting from step 0")
    return model, state


def _unet_saver(out: Path, model, unet_config: UNetConfig, config: TrainConfig, schedule, data: str, extra=None):
    """``save(state)``: the EMA and raw weights, the state and the loss log into ``out`` (atomic); ``extra`` is
    merged into the Record's training dict (the speech task's settings)."""

    def save(state):
        train = asdict(config) | (extra or {})
        record = Record("unet", state.step, config.sr, config.length, asdict(unet_config), train, config.prediction,
                        schedule.to_dict(), data, state.wall_time_s)  # fmt: skip
        log = {"step": list(range(1, len(state.losses) + 1)), "loss": state.losses}
        weights = {"model": state.ema.state_dict(), "model_raw": model.state_dict()}
        save_checkpoint(out, record, weights, state.state_dict(), log)

    return save


def _run_unet(model, loss, batches, state: TrainState, config: TrainConfig, d: Dist, out, save, until, progress):
    """:func:`train` with the run's settings; a diverged run says what is on disk. Returns a :class:`TrainResult`."""
    if d.world_size > 1:
        print(f"rank {d.rank} of {d.world_size} on {d.device}: {config.batch_size // d.world_size} of the "
              f"{config.batch_size} clips of every global batch", flush=True)  # fmt: skip
    step0, wall0 = state.step, state.wall_time_s
    try:
        train(model, loss, batches, Stop(steps=config.steps, until=until), state, lr=config.lr, warmup=config.warmup,
              min_lr_frac=config.min_lr_frac, grad_clip=config.grad_clip, ema_decay=config.ema_decay, dist=d,
              bf16=config.bf16, compile=config.compile, save=save if out is not None else None,
              save_every=config.save_every, progress=progress)  # fmt: skip
    except FloatingPointError as err:
        raise FloatingPointError(f"{err}; {_where_saved(out)}") from err
    speed = (state.step - step0) * config.batch_size / max(state.wall_time_s - wall0, 1e-9)
    return TrainResult(model, state.ema, state.losses, state.step, speed, out)


def train_unet(
    unet_config: UNetConfig,
    config: TrainConfig,
    data: str | Path = "toy",
    out: str | Path | None = None,
    resume: bool = False,
    device: str | torch.device | None = None,
    dist: Dist | None = None,
    until: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a :class:`UNet1D` with the diffusion loss (``config.prediction="fm"``: the flow-matching loss,
    ``flow.flow_matching_loss``); checkpoint into ``out``.

    Args:
        unet_config: the network.  config: the run.  data: "toy" or a folder of audio files.
        out: checkpoint folder (None: keep nothing on disk).  resume: continue from the checkpoint in
            ``out`` (its TrainConfig is used, except ``steps``, which ``config`` may change).
        device: default :func:`get_device`; ignored when ``dist`` is given (its device is used).
        dist: this process's place in a torchrun group (``distributed.init_distributed``, called by the CLI);
            default one process.
        until: stop after this step as if interrupted (a later ``resume=True`` call continues exactly).
        progress: show a tqdm bar (rank 0 only).
    Raises:
        FloatingPointError if the loss or the weights stop being finite; the message says what is on disk.
    """
    d = dist or Dist(0, 1, get_device(str(device) if device is not None else None))
    device = d.device
    out, record, config = _open_unet_run(unet_config, config, str(data), out, resume, d)
    conditional = unet_config.num_classes > 0
    if conditional and unet_config.num_classes < NUM_NOTE_CLASSES:
        raise ValueError(f"UNetConfig(num_classes={unet_config.num_classes}) is too small for the "
                         f"{NUM_NOTE_CLASSES} toy-note classes; use num_classes={NUM_NOTE_CLASSES}")  # fmt: skip
    if config.cond_dropout > 0 and not conditional:
        raise ValueError(f"cond_dropout={config.cond_dropout} needs a class-conditional UNetConfig (num_classes > 0)")
    if unet_config.cond_channels:
        raise ValueError(f"UNetConfig(cond_channels={unet_config.cond_channels}) needs a conditioning signal: "
                         "train it with train_speech (chapter 10)")  # fmt: skip
    model, state = _unet_state(unet_config, config, out, record, resume, d)
    g = state.generators
    schedule = make_schedule(config.schedule, config.T)
    draw = batch_source(data, config, g["data"], labels=conditional, verbose=d.is_main)

    def batches():  # the global batch, drawn alike on every rank: (B, 1, L) and (B,) labels or None
        if not conditional:
            return draw(config.batch_size), None
        x0, labels = draw(config.batch_size)
        return x0, drop_labels(labels, config.cond_dropout, unet_config.null_label, g["label"])  # Ho & Salimans Alg. 1

    def loss(net, batch):  # this rank's shard of the global batch, on its device
        x0, labels = batch
        place = lambda a: shard(a, d).to(device)  # noqa: E731
        if config.prediction == "fm":  # flow matching, Lipman et al. (2023) Eq. (23); flow.py
            return flow_matching_loss(net, x0, config.T, g["noise"], labels, place=place)
        return diffusion_loss(net, x0, schedule, config.prediction, g["noise"], labels, place=place)

    save = _unet_saver(out, model, unet_config, config, schedule, str(data))
    return _run_unet(model, loss, batches, state, config, d, out, save, until, progress)


def train_speech(
    task: str,
    unet_config: UNetConfig,
    config: TrainConfig,
    data: str | Path,
    out: str | Path | None = None,
    resume: bool = False,
    device: str | torch.device | None = None,
    dist: Dist | None = None,
    until: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train chapter 10's vocoder or speech enhancer: a U-Net with a conditioning input on real speech.

    ``task="vocoder"``: x_0 is a clean crop, cond its upsampled log-mel (DiffWave, Kong et al. 2021; WaveGrad,
    Chen et al. 2021). ``task="enhancer"``: cond is the same crop with noise mixed in (``speech.enhancer_batches``;
    the clean speech as x_0 and the noisy as an input channel, as SR3 and CDiffuSE do). The loss is
    ``losses.diffusion_loss`` of the net with its cond bound. Data: the FSDD training split of folder ``data``
    (``speech.split``); the Record stores data="fsdd-<task>" and the task's settings in ``train["speech"]``
    (``speech.task_settings``). Other arguments as :func:`train_unet`.
    """
    if task not in speech.TASKS:
        raise ValueError(f"train_speech: task must be one of {speech.TASKS}, got {task!r}")
    if unet_config.cond_channels != speech.TASKS[task] or unet_config.num_classes:
        raise ValueError(f"the {task} needs UNetConfig(cond_channels={speech.TASKS[task]}, num_classes=0), got "
                         f"{unet_config}; use UNET_PRESETS['speech_{task}']")  # fmt: skip
    if config.prediction == "fm" or config.sr != speech.SR:
        raise ValueError(f"train_speech: needs sr={speech.SR} and a diffusion prediction, got {config.sr}, "
                         f"{config.prediction!r}")  # fmt: skip
    d = dist or Dist(0, 1, get_device(str(device) if device is not None else None))
    utterances = speech.split(speech.fsdd_index(data), "train")
    settings = speech.task_settings(task, utterances)
    out, record, config = _open_unet_run(unet_config, config, f"fsdd-{task}", out, resume, d)
    if record is not None and record.train.get("speech") != settings:
        raise ValueError(f"checkpoint {out} was trained with {record.train.get('speech')}, not {settings}")
    model, state = _unet_state(unet_config, config, out, record, resume, d)
    g = state.generators
    schedule = make_schedule(config.schedule, config.T)
    clips = speech.load_clips(utterances, config.sr)
    if task == "vocoder":
        draw = speech.vocoder_batches(clips, config.length, speech.MelConfig(), g["data"])
    else:
        draw = speech.enhancer_batches(clips, clips, config.length, g["data"], config.sr)

    def loss(net, batch):  # this rank's shard of (x0, cond), on its device
        place = lambda a: shard(a, d).to(d.device)  # noqa: E731
        x0, cond = batch[0], place(batch[1])
        return diffusion_loss(lambda x_t, t: net(x_t, t, None, cond), x0, schedule, config.prediction, g["noise"],
                              place=place)  # fmt: skip

    save = _unet_saver(out, model, unet_config, config, schedule, f"fsdd-{task}", {"speech": settings})
    return _run_unet(model, loss, lambda: draw(config.batch_size), state, config, d, out, save, until, progress)


def train_wavenet(
    model: WaveNet,
    steps: int,
    batch: int = 8,
    lr: float = 2e-3,
    length: int = LENGTH,
    sr: int = SR,
    seed: int = 0,
    out: str | Path | None = None,
    save_every: int = 100,
    progress: bool = True,
) -> list[float]:
    """Teacher-forced cross-entropy (``losses.autoregressive_loss``) on fresh toy notes with :func:`train`:
    AdamW without weight decay, cosine decay to lr / 10, no warm-up, grad clip 1, no EMA.

    Returns the loss (bits per mu-law sample) at every step; saves to ``out`` (a checkpoint of kind
    "wavenet", ``registry.load_model`` reads it) every ``save_every`` steps and at the end.
    """
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    dev = next(model.parameters()).device
    state = TrainState(torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0), None, {"data": g})
    recipe = {"batch": batch, "lr": lr, "length": length, "sr": sr, "seed": seed, "steps": steps}
    save = (lambda s: save_wavenet(model, out, s.step, recipe, s.losses)) if out is not None else None
    train(model, autoregressive_loss, lambda: draw_toy_notes(batch, length, sr, g)[0].to(dev), Stop(steps=steps),
          state, lr=lr, warmup=0, min_lr_frac=0.1, grad_clip=1.0, save=save, save_every=save_every,
          progress=progress, desc="WaveNet training")  # fmt: skip
    model.eval()
    return state.losses


def save_wavenet(
    model: WaveNet, out: str | Path, step: int, train: dict | None = None, losses: list | None = None
) -> None:
    """Save a WaveNet checkpoint (kind "wavenet") into folder ``out``, atomically (``checkpoint.save_checkpoint``)."""
    train = train or {}
    record = Record("wavenet", step, train.get("sr", SR), train.get("length", LENGTH), asdict(model.config), train)
    log = {"step": list(range(1, len(losses) + 1)), "loss": losses} if losses is not None else None
    save_checkpoint(out, record, {"model": model.state_dict()}, log=log)


def train_classifier(
    config: ClassifierConfig,
    out: str | Path,
    steps: int = 3000,
    batch: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    resume: bool = False,
    save_every: int = 250,
    progress: bool = True,
    label_smoothing: float = 0.1,
    source: Callable | None = None,
    data: str = "toy",
    length: int = LENGTH,
) -> NoteClassifier:
    """Train the evaluation network (``models.classifier``) with :func:`train`: cross-entropy on fresh toy notes
    with noise and gain augmentation (``classifier.augment``), labels ``note_label(pitch, timbre)``.

    Other data (chapter 10's spoken digits): ``source(generators) -> draw(B) -> (x (B, 1, length), labels (B,))``
    draws from the run's generators {"data", "noise"} (so resume stays exact); ``data`` names it in the Record
    (e.g. "fsdd-digits", with :func:`fsdd_digit_source`).

    AdamW without weight decay, 100 warm-up steps, cosine decay to lr / 10, grad clip 1, no EMA. Label smoothing
    (Szegedy et al. 2016) keeps p(y | x) away from exact 0 and 1, so the scores built on it (modified IS, AM) stay
    finite and the features keep a moderate scale. Saves a
    checkpoint of kind "classifier" into ``out`` every ``save_every`` steps and at the end, with the
    optimizer and generator states, so ``resume=True`` continues exactly. Returns the network in eval mode.
    """
    out = Path(out)
    record = read_record(out) if (out / "config.json").is_file() else None
    if record is not None and not resume:
        raise FileExistsError(f"{out} already holds a checkpoint; pass resume=True or choose another out")
    recipe = {"steps": steps, "batch": batch, "lr": lr, "seed": seed, "warmup": 100, "augment": "classifier.augment",
              "label_smoothing": label_smoothing}  # fmt: skip
    if data != "toy":
        recipe["data"] = data
    if record is not None and (record.kind != "classifier" or record.model != asdict(config)):
        raise ValueError(f"checkpoint {out} holds {record.kind} {record.model}, not the classifier {asdict(config)}")
    torch.manual_seed(seed)
    model = NoteClassifier(config)
    g = {"data": torch.Generator().manual_seed(seed), "noise": torch.Generator().manual_seed(seed + 1)}
    state = TrainState(torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0), None, g)
    if record is not None:
        model.load_state_dict(read_weights(out, record))
        state.load_state_dict(read_state(out), out / "optimizer.pt")

    def toy_batches(B):  # (B, 1, L) augmented notes and their (B,) labels
        x, pitch, timbre = draw_toy_notes(B, LENGTH, config.sr, g["data"])
        return augment(x, g["noise"]), note_label(pitch, timbre)

    draw = toy_batches if source is None else source(g)

    def loss(net, b):
        return torch.nn.functional.cross_entropy(net(b[0]), b[1], label_smoothing=label_smoothing)

    def save(s):
        rec = Record(
            "classifier", s.step, config.sr, length, asdict(config), recipe, data=data, wall_time_s=s.wall_time_s
        )
        log = {"step": list(range(1, len(s.losses) + 1)), "loss": s.losses}
        save_checkpoint(out, rec, {"model": model.state_dict()}, s.state_dict(), log)

    train(model, loss, lambda: draw(batch), Stop(steps=steps), state, lr=lr, warmup=100, min_lr_frac=0.1, grad_clip=1.0,
          save=save, save_every=save_every, progress=progress, desc="classifier training")  # fmt: skip
    return model.eval()


def fsdd_digit_source(clips: list, length: int, speed=(0.85, 1.15)):
    """The spoken-digit classifier's batches: ``source(generators) -> draw(B)`` of random ``length``-sample crops
    (shorter clips zero-padded at a random offset), each at a random speed in ``speed`` (``speech.digit_batches``),
    with ``classifier.augment``'s gain and light white noise, and their (B,) digits. ``clips``: ``speech.load_clips``'s
    list."""

    def source(g: dict):
        digits = speech.digit_batches(clips, length, g["data"], speed)

        def draw(B: int):
            x, digit = digits(B)  # (B, 1, L), (B,)
            return augment(x, g["noise"]), digit

        return draw

    return source
