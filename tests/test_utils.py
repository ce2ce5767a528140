"""Quick mode, device choice and seeding."""

import torch

from audiodiff_minimal.utils import get_device, pick, quick_mode, seed_everything


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
