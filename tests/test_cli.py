"""The command line answers every mistake with one clear line and the right exit status (issue 10's list).

0: done; 1: the run failed (NaN, disk full); 2: bad input the user can fix. Every check happens before
any work: no sampling, no training step, no checkpoint written.
"""

import errno
import json
import subprocess
import sys

import pytest

from audiodiff_minimal import checkpoint
from audiodiff_minimal.cli import main
from audiodiff_minimal.registry import SHIPPED

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py
QUICK = ["train", "--config", "quick", "--device", "cpu", "--data", "toy"]


def run(capsys, *argv) -> tuple[int, str]:
    """Exit status and stderr of one in-process CLI call (argparse's own errors exit through SystemExit)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:
        code = stop.code
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    return code, "\n".join(line for line in lines if line.strip() and "%|" not in line)  # without progress bars


def one_line_error(capsys, *argv, match: str) -> str:
    code, err = run(capsys, *argv)
    assert code == 2, (code, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert match in err, err
    return err


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A quick run trained for 2 steps through the CLI."""
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main([*QUICK, "--steps", "2", "--out", str(out)]) == 0
    return out


def copy_of(src, dst):
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file():
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_train_then_resume_then_sample(run_folder, tmp_path, capsys):
    assert checkpoint.read_record(run_folder).step == 2
    assert main([*QUICK, "--steps", "3", "--out", str(run_folder), "--resume"]) == 0
    assert checkpoint.read_record(run_folder).step == 3
    code = main(["sample", "--checkpoint", str(run_folder), "--sampler", "ddim", "--steps", "2", "--n", "2",
                 "--device", "cpu", "--out", str(tmp_path / "s")])  # fmt: skip
    assert code == 0 and len(list((tmp_path / "s").glob("*.wav"))) == 2
    assert "wrote 2 clips" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, match",
    [
        (["--steps", "0"], "--steps 0: must be at least 1"),
        (["--steps", "5000"], "--steps 5000: this checkpoint has T = 1000"),
        (["--n", "0"], "--n 0: must be at least 1"),
        (["--scale", "inf"], "--scale inf: must be a finite number"),
        (["--scale", "3"], "--scale guides towards a requested note"),
        (["--pitch", "A4", "--timbre", "sine"], "unconditional; --pitch and --timbre need"),
        (["--device", "nonsense"], "--device 'nonsense' is not a device"),
        (["--checkpoint", "no/such/folder"], "no/such/folder: no such checkpoint folder"),
        (["--checkpoint", "notes_wavenet"], "holds a wavenet, not a diffusion U-Net"),
    ],
)
def test_sample_refuses_bad_arguments_before_any_work(args, match, tmp_path, capsys):
    one_line_error(capsys, "sample", *args, "--out", tmp_path / "out", match=match)
    assert not list((tmp_path / "out").glob("*.wav"))


def test_sample_checks_the_output_folder_first(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    one_line_error(capsys, "sample", "--out", tmp_path / "file", match="is a file, not a folder")
    one_line_error(capsys, "sample", "--out", tmp_path / "file" / "sub", match="cannot write there")


def test_conditional_flags_need_each_other(tmp_path, capsys):
    one_line_error(capsys, "sample", "--checkpoint", "notes_cond", "--pitch", "A4", "--out", tmp_path,
                   match="give both --pitch")  # fmt: skip


def test_train_refuses_bad_steps_and_writes_nothing(tmp_path, capsys):
    for steps in ("0", "-5"):
        one_line_error(capsys, *QUICK, "--steps", steps, "--out", tmp_path / "r", match=f"--steps {steps}: must be")
    assert not (tmp_path / "r" / "config.json").exists()


def test_train_refuses_an_existing_run_without_resume(run_folder, capsys):
    one_line_error(
        capsys, *QUICK, "--steps", "4", "--out", run_folder, match="already holds a checkpoint; add --resume"
    )


def test_resume_with_other_data_or_config_names_both(run_folder, tmp_path, capsys):
    (tmp_path / "wavs").mkdir()
    one_line_error(capsys, *QUICK[:-1], tmp_path / "wavs", "--resume", "--steps", "9", "--out", run_folder,
                   match="was trained on --data toy, not")  # fmt: skip
    err = one_line_error(capsys, "train", "--config", "quick_cond", "--device", "cpu", "--resume", "--steps", "9",
                         "--out", run_folder, match="was trained with the model")  # fmt: skip
    assert "num_classes=32" in err and "--config quick_cond" in err


def test_edited_or_crafted_config_is_refused_naming_the_file(run_folder, tmp_path, capsys):
    for change, match in [
        (lambda c: c["schedule"].update(T=5), "disagrees with the training config"),
        (lambda c: c["model"].update(base=1024), "the weights do not fit the model config"),
        (lambda c: c.update(step="x"), "step = 'x' must be"),
        (lambda c: c["model"].update(colour="red"), "does not build a UNetConfig"),
    ]:
        folder = copy_of(run_folder, tmp_path / "edited")
        config = json.loads((folder / "config.json").read_text())
        change(config)
        (folder / "config.json").write_text(json.dumps(config))
        err = one_line_error(capsys, "sample", "--checkpoint", folder, "--out", tmp_path / "s", match=match)
        assert "config.json" in err


def test_nan_weights_are_refused_naming_the_tensor(run_folder, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    folder = copy_of(run_folder, tmp_path / "nan")
    state = load_file(folder / "model.safetensors")
    name = sorted(state)[3]
    state[name][0] = float("nan")
    step = str(checkpoint.read_record(folder).step)
    save_file(state, folder / "model.safetensors", metadata={"step": step})
    err = one_line_error(capsys, "sample", "--checkpoint", folder, "--out", tmp_path / "s", match="NaN or infinite")
    assert name in err
    one_line_error(capsys, *QUICK, "--steps", "9", "--resume", "--out", folder, match="NaN or infinite")


def test_disk_full_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "model.safetensors")

    monkeypatch.setattr(checkpoint, "save_file", full)
    code, err = run(capsys, *QUICK, "--steps", "2", "--out", tmp_path / "r")
    assert code == 1 and "disk full" in err and len(err.splitlines()) == 1, err


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    assert "(default: 20)" in capsys.readouterr().out


def test_python_dash_m_returns_the_status():
    done = subprocess.run([sys.executable, "-m", "audiodiff_minimal", "sample", "--n", "0", "--out", "x"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and done.stderr.strip().endswith("--n 0: must be at least 1"), done.stderr
    assert SHIPPED["notes_unet"].is_dir()
