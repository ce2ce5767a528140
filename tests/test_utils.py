"""Quick mode, device choice and seeding."""

import os

import torch

from audiodiff_minimal.utils import get_device, notebook_environment, pick, quick_mode, seed_everything


def test_quick_mode(monkeypatch):
    monkeypatch.setenv("AUDIODIFF_QUICK", "1")
    assert quick_mode() and pick("q", "f") == "q"
    monkeypatch.setenv("AUDIODIFF_QUICK", "0")
    assert not quick_mode() and pick("q", "f") == "f"
    monkeypatch.delenv("AUDIODIFF_QUICK")
    assert not quick_mode()


def test_get_device(monkeypatch):
    monkeypatch.setenv("AUDIODIFF_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    assert get_device("cpu").type == "cpu"
    monkeypatch.delenv("AUDIODIFF_DEVICE")
    assert get_device().type in {"cuda", "mps", "cpu"}


def test_seed_everything_reproducible():
    g1 = seed_everything(7)
    a, ga = torch.randn(3), torch.randn(3, generator=g1)
    g2 = seed_everything(7)
    b, gb = torch.randn(3), torch.randn(3, generator=g2)
    assert torch.equal(a, b) and torch.equal(ga, gb)


def test_notebook_environment_sets_quick_mode_caches_and_removes_the_backend():
    given = {"MPLBACKEND": "Agg", "AUDIODIFF_QUICK": "0", "PYTHONHASHSEED": "7", "PATH": "/bin"}
    env = notebook_environment(environ=dict(given))
    assert env["AUDIODIFF_QUICK"] == "0", "quick=None must keep a full-mode run full"
    assert "MPLBACKEND" not in env, "an inherited Agg backend hides every figure in a kernel"
    assert env["PYTHONHASHSEED"] == "7" and env["PATH"] == "/bin"  # what the caller set is kept
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and "OMP_NUM_THREADS" not in env  # threads untouched without jobs
    assert env["NUMBA_CACHE_DIR"] != env["MPLCONFIGDIR"]
    assert notebook_environment(environ={})["AUDIODIFF_QUICK"] == "1"  # quick mode unless said otherwise
    assert notebook_environment(quick=True, environ=dict(given))["AUDIODIFF_QUICK"] == "1"
    assert notebook_environment(quick=False, environ={})["AUDIODIFF_QUICK"] == "0"


def test_notebook_environment_shares_the_cores_between_jobs(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert notebook_environment(jobs=2, environ={})["OMP_NUM_THREADS"] == "4"
    assert notebook_environment(jobs=3, environ={})["MKL_NUM_THREADS"] == "2"
    assert notebook_environment(jobs=16, environ={})["OMP_NUM_THREADS"] == "1"  # never 0 threads
    assert notebook_environment(jobs=2, environ={"OMP_NUM_THREADS": "1"})["OMP_NUM_THREADS"] == "1"  # a choice wins


def test_notebook_environment_fills_the_mapping_given_or_a_copy(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    env = notebook_environment(quick=False)
    assert env is not os.environ and os.environ["MPLBACKEND"] == "Agg" and "MPLBACKEND" not in env
    target = {"MPLBACKEND": "Agg"}
    assert notebook_environment(environ=target) is target and "MPLBACKEND" not in target


def test_the_test_run_has_the_notebook_environment():
    """conftest.py set it for this process, so the kernels nbval starts inherit it."""
    assert "MPLBACKEND" not in os.environ and os.environ["AUDIODIFF_QUICK"] in {"0", "1"}
    assert os.environ["OMP_WAIT_POLICY"] and os.environ["NUMBA_CACHE_DIR"]
    if "PYTEST_XDIST_WORKER_COUNT" in os.environ:  # a worker's torch uses its share of the cores
        assert torch.get_num_threads() == int(os.environ["OMP_NUM_THREADS"])
