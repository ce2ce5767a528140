"""Data-parallel training on several processes, with PyTorch's own engine (chapter ``08``).

Distributed data parallel (DDP) in plain words: ``torchrun --nproc_per_node N`` starts N copies of the
same training script, one per GPU (or CPU process), called *ranks*. Each rank holds a full copy of the
model. At every step the global batch of B clips is cut into N equal shards; each rank computes the loss
and the gradient on its own shard, and during ``backward`` DDP averages the gradients over the ranks
(an all-reduce). Because the shards have equal size, that average is exactly the gradient of the mean
loss over the whole batch (chapter 08, Eq. 8.1)::

    grad (1/B) sum_{i=1}^{B} l_i  =  (1/N) sum_{r=1}^{N} grad (1/(B/N)) sum_{i in shard r} l_i

so every rank takes the same optimizer step, and N ranks with B/N clips each train like one process
with B clips (up to float rounding: the sums are added in another order). Only rank 0 writes
checkpoints; the others wait at a barrier so that none runs ahead of a checkpoint.

Backends: NCCL between GPUs, gloo between CPU processes (also what the tests use on a laptop).
Nothing here is specific to diffusion: the model still denoises whole clips; DDP only splits the batch.

References:
    Li et al. (2020), PyTorch Distributed: Experiences on Accelerating Data Parallel Training, VLDB.
    PyTorch docs: torch.nn.parallel.DistributedDataParallel, torchrun (torch.distributed.run).
"""

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .utils import get_device


@dataclass(frozen=True)
class Dist:
    """Where this process stands: its rank, the number of ranks, and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints and prints."""
        return self.rank == 0


def init_distributed(device: str | None = None) -> Dist:
    """Join the process group that ``torchrun`` set up, or return a single-process ``Dist``.

    torchrun sets WORLD_SIZE, RANK and LOCAL_RANK (and where to meet) in each process's environment.
    With CUDA each rank takes GPU LOCAL_RANK and the NCCL backend; otherwise every rank uses the CPU
    and gloo (a single MPS device cannot be shared by several processes).
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Dist(0, 1, get_device(device))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device in (None, "cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Dist(rank, world_size, torch.device("cuda", local_rank) if use_cuda else torch.device("cpu"))


def shard(x: torch.Tensor, d: Dist) -> torch.Tensor:
    """This rank's contiguous slice of a global batch x (B, ...): rows rank * B/N .. (rank + 1) * B/N - 1."""
    B = x.shape[0]
    if B % d.world_size:
        raise ValueError(f"the global batch size {B} must be divisible by the number of processes {d.world_size}")
    size = B // d.world_size
    return x[d.rank * size : (d.rank + 1) * size]


def mean_across_ranks(value: torch.Tensor, d: Dist) -> torch.Tensor:
    """The mean of a scalar tensor over all ranks (itself when there is one rank): the global batch's loss."""
    if d.world_size == 1:
        return value
    total = value.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total / d.world_size


def barrier(d: Dist) -> None:
    """Wait until every rank gets here (no-op for one process)."""
    if d.world_size > 1:
        dist.barrier()


def cleanup(d: Dist) -> None:
    """Leave the process group (no-op for one process)."""
    if d.world_size > 1 and dist.is_initialized():
        dist.destroy_process_group()


def torchrun_command(nproc: int, train_args: list[str]) -> list[str]:
    """The command that trains on ``nproc`` local processes: ``torchrun --standalone --nproc_per_node N
    -m audiodiff_minimal train ...``, spelled with this interpreter (``python -m torch.distributed.run``)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "audiodiff_minimal", "train", *train_args]  # fmt: skip


def run_torchrun(nproc: int, train_args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run :func:`torchrun_command` and wait; raise RuntimeError with the end of its output if it fails.

    Each process gets one thread (OMP_NUM_THREADS=1), so N processes fit on N cores.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(torchrun_command(nproc, train_args), capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:  # the ranks' own errors first: torchrun's report of them comes last and is long
        lines = (done.stdout + done.stderr).splitlines()
        errors = [line for line in lines if "error" in line.lower() and "torch/distributed" not in line][:10]
        summary = "\n".join(errors + ["...", *lines[-20:]])
        raise RuntimeError(f"torchrun with {nproc} processes failed (exit {done.returncode}):\n{summary}")
    return done
