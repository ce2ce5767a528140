"""Chapter 10's tables: diffusion speech enhancement and vocoding against the classical methods (issue 14).

Data: the committed FSDD subset ``data/fsdd`` (``speech.FSDD_DIR``), every clip at RMS 0.05 (``speech.load_clips``):
"test" (indices 0-4 of jackson, lucas, yweweler: speakers the models heard, recordings they did not; 150 files)
and "unseen" (george, the held-out speaker, indices 0-9; 100 files).

enhance   noise kinds white, pink, hum, babble (``speech.make_noise``; babble from the held-out files of the other
          speakers) mixed at -5, 0, 5, 10, 15 dB SNR (``speech.mix_at_snr``); one CPU generator per (split, kind,
          SNR), seed 1000 + 100 split + 10 kind + snr (indices in SPLITS, KINDS, SNRS), drawn clip by clip.
          Methods: the noisy input, spectral subtraction and Wiener (``classical``) with the estimated (minimum
          statistics) and the oracle noise power, and the diffusion enhancer (``--enhancer``, ``generate.enhance``,
          sampler seed = the clip's position). Measures: SI-SDR (dB) and digit accuracy per clip, PESQ-NB and STOI
          per utterance of 5 clips.
vocode    the log-mel of each clean clip (``speech.log_mel``) back to audio: Griffin-Lim with 32 and 100 iterations
          (``classical.griffin_lim``, seed 0) and the diffusion vocoder (``--vocoder``, ``generate.vocode``).
          Measures: log-spectral distance (dB) and digit accuracy per clip, PESQ-NB per utterance of 5 clips,
          and CPU seconds per second of audio on one thread (``time.process_time``, torch and BLAS on 1 thread).

PESQ and STOI are utterance measures (P.862 asks for 8-20 s; STOI correlates 384 ms segments) and many FSDD digits
are 0.15-0.4 s, shorter than either accepts: they score utterances of 5 clips of one speaker and recording index,
digits 0-4 or 5-9 (about 2.3 s), each clip processed on its own and the results joined end to end (30 utterances
in "test", 20 in "unseen"). Digit accuracy is ``fsdd_classifier``'s (skipped, with a note, while it is not
shipped). Every cell is ``mean [95% CI]``, a percentile bootstrap over clips (or utterances), 1000 replicates,
seed 0; a cell pooled over the four noise kinds averages each clip's four values first (n = clips or utterances).
"A - B" rows are paired differences on the same noisy inputs.

    python benchmarks/speech_quality.py enhance --json data/results/ch10_enhance.json       # baselines (minutes)
    python benchmarks/speech_quality.py enhance --enhancer fsdd_enhancer --merge --json data/results/ch10_enhance.json
    python benchmarks/speech_quality.py vocode --vocoder fsdd_vocoder --json data/results/ch10_vocode.json
    python benchmarks/speech_quality.py enhance --from-json data/results/ch10_enhance.json --by-kind --plot ch10.png
    python benchmarks/speech_quality.py vocode --quick                    # smoke run: a few clips (the tests)

``--merge`` keeps the methods of an existing ``--json`` file and adds (or replaces) the ones computed now: the
noisy inputs are the same draws, so a diffusion row added later is paired with the baselines stored before.
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from audiodiff_minimal import classical, speech
from audiodiff_minimal.metrics import bootstrap_ci, log_spectral_distance, mean_difference, pesq_nb, si_sdr, stoi

ROOT = Path(__file__).resolve().parents[1]
SR = speech.SR
SPLITS = ("test", "unseen")
KINDS = speech.NOISE_KINDS  # white, pink, hum, babble
SNRS = (-5, 0, 5, 10, 15)
GROUP = 5  # clips per utterance for PESQ and STOI
N_BOOT = 1000
NOISY, DIFFUSION_ENH, DIFFUSION_VOC = "noisy input", "diffusion enhancer", "diffusion vocoder"


# --------------------------------------------------------------------------- data


def load_split(which: str, n: int | None = None) -> list:
    """``speech.load_clips`` of a split of data/fsdd, ordered by (speaker, index, digit), so that consecutive runs of
    GROUP clips are one speaker's digits 0-4 or 5-9 of one recording index; the first ``n`` clips with ``n``."""
    utts = sorted(speech.split(speech.fsdd_index(speech.FSDD_DIR), which), key=lambda u: (u.speaker, u.index, u.digit))
    return speech.load_clips(utts[:n])


def mixtures(clips: list, kind: str, snr: float, seed: int, pool: list) -> tuple[list, list]:
    """(noisy, noise) lists of (L_i,) float64 arrays; babble from ``pool`` clips of speakers other than the clip's."""
    g = torch.Generator().manual_seed(seed)
    noisy, noise = [], []
    for u, x in clips:
        babble = [c for v, c in pool if v.speaker != u.speaker] if kind == "babble" else None
        y = speech.mix_at_snr(x.double(), speech.make_noise(kind, len(x), SR, g, babble).double(), snr)
        noisy.append(y.numpy())
        noise.append((y - x.double()).numpy())
    return noisy, noise


def condition_seed(split: str, kind: str, snr: float) -> int:
    return 1000 + 100 * SPLITS.index(split) + 10 * KINDS.index(kind) + SNRS.index(snr)


# --------------------------------------------------------------------------- measures


def utterances(clips: list[np.ndarray]) -> list[np.ndarray]:
    """Consecutive runs of GROUP clips joined end to end (the last run may be shorter)."""
    return [np.concatenate(clips[i : i + GROUP]) for i in range(0, len(clips), GROUP)]


def digit_correct(classifier, record, audio: list[np.ndarray], digits: list[int]) -> list[int]:
    """1 where ``fsdd_classifier`` names the clip's digit (each clip centred in the classifier's length), else 0."""
    if classifier is None:
        return []
    x = torch.stack([speech.center_fit(torch.as_tensor(a, dtype=torch.float32), record.length) for a in audio])
    with torch.no_grad():
        predicted = classifier(x[:, None]).argmax(-1)
    return (predicted == torch.tensor(digits)).int().tolist()


def measure(estimates: list, clean: list, digits: list, classifier, record, task: str) -> dict:
    """Per-clip and per-utterance measures of ``estimates`` against ``clean`` (lists of (L_i,) arrays)."""
    joined_hat, joined = utterances(estimates), utterances(clean)
    out = {"pesq": [float(pesq_nb(a, b)[0]) for a, b in zip(joined_hat, joined, strict=True)],
           "digit_ok": digit_correct(classifier, record, estimates, digits)}  # fmt: skip
    if task == "enhance":
        out["si_sdr"] = [float(si_sdr(a, b)[0]) for a, b in zip(estimates, clean, strict=True)]
        out["stoi"] = [float(stoi(a, b, SR)[0]) for a, b in zip(joined_hat, joined, strict=True)]
    else:
        out["lsd"] = [float(log_spectral_distance(a, b, SR)[0]) for a, b in zip(estimates, clean, strict=True)]
    return {k: [round(v, 4) for v in vals] for k, vals in out.items()}


def timed(method, items: list) -> tuple[list, float]:
    """method applied to each item, and the CPU seconds it took (``time.process_time``: this process, all threads)."""
    start = time.process_time()
    out = [method(*item) for item in items]
    return out, time.process_time() - start


# --------------------------------------------------------------------------- methods


def enhancers(args) -> dict:
    """name -> f(noisy (L,), noise (L,), i) -> (L,), i the clip's position: the baselines, and the diffusion
    enhancer with ``--enhancer`` (alone with ``--merge``)."""
    methods = {
        NOISY: lambda y, n, i: y,
        "spectral subtraction": lambda y, n, i: classical.spectral_subtraction(y, SR),
        "spectral subtraction (oracle noise)": lambda y, n, i: classical.spectral_subtraction(
            y, SR, classical.noise_psd(n, SR)
        ),
        "Wiener": lambda y, n, i: classical.wiener_enhance(y, SR),
        "Wiener (oracle noise)": lambda y, n, i: classical.wiener_enhance(y, SR, classical.noise_psd(n, SR)),
    }
    if args.enhancer:
        from audiodiff_minimal.generate import enhance
        from audiodiff_minimal.registry import load_model

        model, record = load_model(args.enhancer)

        def diffusion(y, n, i):  # the mixtures are at the training level already: no rescaling
            x = enhance(model, record, y, sampler=args.sampler, steps=args.steps, seed=i, rescale=False)
            return x[0, 0].double().numpy()

        methods = {DIFFUSION_ENH: diffusion} if args.merge else methods | {DIFFUSION_ENH: diffusion}
    return methods


def vocoders(args) -> dict:
    """name -> f(log_mel (1, n_mels, frames), length) -> (L,): Griffin-Lim, and the diffusion vocoder."""
    methods = {f"Griffin-Lim ({k} it.)": (lambda m, L, k=k: classical.griffin_lim(m, n_iter=k, length=L)[0, 0])
               for k in (32, 100)}  # fmt: skip
    if args.vocoder:
        from audiodiff_minimal.generate import vocode
        from audiodiff_minimal.registry import load_model

        model, record = load_model(args.vocoder)

        def diffusion(m, L):
            return vocode(model, record, m, length=L, sampler=args.sampler, steps=args.steps)[0, 0].double().numpy()

        methods = {DIFFUSION_VOC: diffusion} if args.merge else methods | {DIFFUSION_VOC: diffusion}
    return methods


def load_classifier(name: str):
    """(classifier, record), or (None, None) with a note when it is not shipped."""
    from audiodiff_minimal.registry import load_model

    try:
        return load_model(name)
    except (FileNotFoundError, OSError) as err:
        print(f"note: no digit accuracy ({name}: {err})", file=sys.stderr)
        return None, None


# --------------------------------------------------------------------------- the two runs


def run_enhance(args, classifier, record) -> dict:
    results, cpu, audio_s = {}, {}, {}
    methods = enhancers(args)
    pool = load_split("test") + load_split("unseen")  # babble: the held-out files of the other speakers
    for split in SPLITS:
        clips = load_split(split, args.n)
        clean, digits = [x.double().numpy() for _, x in clips], [u.digit for u, _ in clips]
        results[split] = {"clean": {"digit_ok": digit_correct(classifier, record, clean, digits)}}
        for kind in args.kinds:
            for snr in args.snrs:
                noisy, noise = mixtures(clips, kind, snr, condition_seed(split, kind, snr), pool)
                cell = results[split].setdefault(kind, {}).setdefault(str(snr), {})
                for name, method in methods.items():
                    method(noisy[0], noise[0], 0)  # warm-up (librosa's first calls compile and cache): not timed
                    estimates, seconds = timed(method, list(zip(noisy, noise, range(len(noisy)), strict=True)))
                    cell[name] = measure(estimates, clean, digits, classifier, record, "enhance")
                    cpu[name] = cpu.get(name, 0.0) + seconds
                    audio_s[name] = audio_s.get(name, 0.0) + sum(len(c) for c in clean) / SR
                print(f"{split} {kind} {snr:+} dB done", file=sys.stderr)
    return {"results": results, "cpu_s_per_s": {k: cpu[k] / audio_s[k] for k in cpu}}


def run_vocode(args, classifier, record) -> dict:
    results, cpu, audio_s = {}, {}, {}
    methods = vocoders(args)
    for split in SPLITS:
        clips = load_split(split, args.n)
        clean, digits = [x.double().numpy() for _, x in clips], [u.digit for u, _ in clips]
        mels = [(speech.log_mel(x[None]), len(x)) for _, x in clips]
        results[split] = {"clean": {"digit_ok": digit_correct(classifier, record, clean, digits)}}
        for name, method in methods.items():
            method(*mels[0])  # warm-up (librosa's first calls compile and cache): keep it out of the timing
            estimates, seconds = timed(method, mels)
            results[split][name] = measure(estimates, clean, digits, classifier, record, "vocode")
            cpu[name] = cpu.get(name, 0.0) + seconds
            audio_s[name] = audio_s.get(name, 0.0) + sum(len(c) for c in clean) / SR
            print(f"{split} {name} done", file=sys.stderr)
    return {"results": results, "cpu_s_per_s": {k: cpu[k] / audio_s[k] for k in cpu}}


# --------------------------------------------------------------------------- tables


def ci(values, fmt: str = "{:.2f}") -> str:
    if len(values) == 0:
        return "n/a"
    v = bootstrap_ci(np.mean, np.asarray(values, dtype=np.float64), n_boot=N_BOOT, seed=0)
    return f"{fmt.format(v.value)} [{fmt.format(v.lo)}, {fmt.format(v.hi)}]"


def diff(a, b, fmt: str = "{:+.2f}") -> str:
    if len(a) == 0 or len(a) != len(b):
        return "n/a"
    d = mean_difference(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), n_boot=N_BOOT, seed=0)
    return f"{fmt.format(d.value)} [{fmt.format(d.lo)}, {fmt.format(d.hi)}]"


def pooled(split_results: dict, kinds, snr: str, method: str, key: str) -> list:
    """One measure at one SNR, per clip (or utterance) averaged over the noise kinds ``kinds``: the bootstrap then
    resamples clips, which keeps the four mixtures of one clip together (they are not independent). [] unless every
    kind has the values."""
    runs = [split_results.get(k, {}).get(snr, {}).get(method, {}).get(key, []) for k in kinds]
    if not all(runs) or len({len(r) for r in runs}) != 1:
        return []
    return np.mean(np.asarray(runs, dtype=np.float64), axis=0).tolist()


ENHANCE_MEASURES = [  # key, label, format, format of a difference
    ("si_sdr", "SI-SDR (dB)", "{:.2f}", "{:+.2f}"),
    ("pesq", "PESQ-NB", "{:.2f}", "{:+.2f}"),
    ("stoi", "STOI", "{:.3f}", "{:+.3f}"),
    ("digit_ok", "digit accuracy", "{:.3f}", "{:+.3f}"),
]


def enhance_tables(doc: dict, by_kind: bool = False) -> str:
    """Markdown: per split and measure, methods x SNR pooled over noise kinds; then paired differences."""
    lines, meta = [], doc["meta"]
    for split, res in doc["results"].items():
        kinds = [k for k in KINDS if k in res]
        snrs = sorted({s for k in kinds for s in res[k]}, key=float)
        methods = list(dict.fromkeys(m for k in kinds for s in res[k] for m in res[k][s]))
        clips = len(res[kinds[0]][snrs[0]][methods[0]]["si_sdr"])
        lines.append(f"\n### {split}: {clips} clips, {-(-clips // GROUP)} utterances of {GROUP}, noise kinds "
                     f"{', '.join(kinds)}: each clip's mean over them (n = clips or utterances)\n")  # fmt: skip
        for key, label, fmt, dfmt in ENHANCE_MEASURES:
            if not any(pooled(res, kinds, s, m, key) for s in snrs for m in methods):
                continue  # digit accuracy without a classifier
            lines += [f"\n{label}\n", "| method | " + " | ".join(f"{s} dB" for s in snrs) + " |",
                      "|---|" + "---|" * len(snrs)]  # fmt: skip
            for m in methods:
                lines.append(f"| {m} | " + " | ".join(ci(pooled(res, kinds, s, m, key), fmt) for s in snrs) + " |")
            if key == "digit_ok" and res["clean"]["digit_ok"]:
                lines.append(f"| clean speech | {ci(res['clean']['digit_ok'], fmt)} (every SNR) |")
            pairs = [(m, NOISY) for m in methods if m != NOISY]
            if DIFFUSION_ENH in methods:
                pairs += [(DIFFUSION_ENH, m) for m in methods if m not in (NOISY, DIFFUSION_ENH)]
            for a, b in pairs:
                cells = [diff(pooled(res, kinds, s, a, key), pooled(res, kinds, s, b, key), dfmt) for s in snrs]
                lines.append(f"| {a} - {b} | " + " | ".join(cells) + " |")
        if by_kind:
            lines += kind_tables(res, kinds, methods, snrs)
    cpu = ", ".join(f"{m} {v:.3f}" for m, v in doc["cpu_s_per_s"].items())
    lines.append(f"\nCPU seconds per second of audio: {cpu}. {meta['interval']}. `{meta['command']}`, {meta['date']}")
    return "\n".join(lines)


def kind_tables(res: dict, kinds, methods, snrs) -> list[str]:
    """PESQ and STOI per noise kind at 0 and 5 dB (the issue's goal), methods x kinds."""
    lines = []
    for snr in [s for s in snrs if float(s) in (0.0, 5.0)]:
        for key, label, fmt, _ in ENHANCE_MEASURES[1:3]:
            lines += [f"\n{label} at {snr} dB, per noise kind\n", "| method | " + " | ".join(kinds) + " |",
                      "|---|" + "---|" * len(kinds)]  # fmt: skip
            for m in methods:
                lines.append(f"| {m} | " + " | ".join(ci(pooled(res, [k], snr, m, key), fmt) for k in kinds) + " |")
    return lines


VOCODE_MEASURES = [("lsd", "LSD (dB)", "{:.2f}", "{:+.2f}"), ("pesq", "PESQ-NB", "{:.2f}", "{:+.2f}"),
                   ("digit_ok", "digit accuracy", "{:.3f}", "{:+.3f}")]  # fmt: skip


def vocode_tables(doc: dict) -> str:
    """Markdown: per split, methods x measures, CPU s per s of audio; paired differences against Griffin-Lim 32."""
    lines, meta = [], doc["meta"]
    for split, res in doc["results"].items():
        methods = [m for m in res if m != "clean"]
        clips = len(res[methods[0]]["lsd"])
        lines += [f"\n### {split}: {clips} clips, {-(-clips // GROUP)} utterances of {GROUP}\n",
                  "| method | " + " | ".join(label for _, label, _, _ in VOCODE_MEASURES) + " | CPU s / s audio |",
                  "|---|" + "---|" * (len(VOCODE_MEASURES) + 1)]  # fmt: skip
        for m in methods:
            cells = [ci(res[m].get(k, []), fmt) for k, _, fmt, _ in VOCODE_MEASURES]
            lines.append(f"| {m} | " + " | ".join(cells) + f" | {doc['cpu_s_per_s'].get(m, float('nan')):.3f} |")
        lines.append(f"| clean speech | | | {ci(res['clean']['digit_ok'], '{:.3f}')} | |")
        base = methods[0]
        for m in methods[1:]:
            cells = [diff(res[m].get(k, []), res[base].get(k, []), dfmt) for k, _, _, dfmt in VOCODE_MEASURES]
            lines.append(f"| {m} - {base} | " + " | ".join(cells) + " | |")
    lines.append(f"\n{meta['interval']}. CPU time on {meta['threads']} thread(s). `{meta['command']}`, {meta['date']}")
    return "\n".join(lines)


def plot_enhance(doc: dict, out: str) -> None:
    """SI-SDR, PESQ, STOI and digit accuracy against SNR, one line per method with 95% intervals, one row per split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    splits = list(doc["results"])
    first = doc["results"][splits[0]]
    kinds0 = [k for k in KINDS if k in first]
    cell0 = first[kinds0[0]][next(iter(first[kinds0[0]]))]
    measures = [m for m in ENHANCE_MEASURES if any(v.get(m[0]) for v in cell0.values())]  # digits: a classifier
    fig, axes = plt.subplots(len(splits), len(measures), figsize=(3.8 * len(measures), 3.3 * len(splits)),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    for row, split in zip(axes, splits, strict=True):
        res = doc["results"][split]
        kinds = [k for k in KINDS if k in res]
        snrs = sorted({s for k in kinds for s in res[k]}, key=float)
        methods = list(dict.fromkeys(m for k in kinds for s in res[k] for m in res[k][s]))
        for ax, (key, label, _, _) in zip(row, measures, strict=True):
            for m in methods:
                v = [bootstrap_ci(np.mean, np.asarray(pooled(res, kinds, s, m, key) or [np.nan]), n_boot=200)
                     for s in snrs]  # fmt: skip
                x = [float(s) for s in snrs]
                ax.errorbar(x, [i.value for i in v], yerr=[[i.value - i.lo for i in v], [i.hi - i.value for i in v]],
                            fmt="o-", capsize=2, label=m)  # fmt: skip
            ax.set(title=f"{split}: {label}", xlabel="input SNR (dB)")
        row[0].legend(fontsize=7)
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")


# --------------------------------------------------------------------------- main


def meta(args, wall_s: float) -> dict:
    return {
        "command": "python benchmarks/speech_quality.py " + " ".join(sys.argv[1:] if args.argv is None else args.argv),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "wall_s": round(wall_s, 1),
        "load_avg_1min_end": round(os.getloadavg()[0], 2),
        "interval": f"mean [95% CI], percentile bootstrap over clips or utterances, {N_BOOT} replicates, seed 0",
        "seeds": "noise: 1000 + 100 split + 10 kind + snr index; Griffin-Lim phase: 0; diffusion: clip position",
        "data": f"data/fsdd, splits {SPLITS}, n = {args.n or 'all'} per split, utterances of {GROUP} clips",
        "enhancer": args.enhancer, "vocoder": args.vocoder, "sampler": args.sampler, "steps": args.steps,
    }  # fmt: skip


def merge(old: dict, new: dict) -> dict:
    """``new``'s methods added to (or replacing) ``old``'s, cell by cell."""

    def into(a: dict, b: dict):
        for k, v in b.items():
            if isinstance(v, dict) and isinstance(a.get(k), dict) and not {"pesq", "digit_ok"} & set(v):
                into(a[k], v)
            else:
                a[k] = v

    into(old["results"], new["results"])
    old["cpu_s_per_s"] |= new["cpu_s_per_s"]
    old.setdefault("runs", [old["meta"]]).append(new["meta"])
    old["meta"] = new["meta"] | {"command": old["meta"]["command"] + " ; " + new["meta"]["command"]}
    return old


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=("enhance", "vocode"))
    parser.add_argument("--enhancer", default=None, help="a checkpoint folder or shipped name (fsdd_enhancer)")
    parser.add_argument("--vocoder", default=None, help="a checkpoint folder or shipped name (fsdd_vocoder)")
    parser.add_argument("--classifier", default="fsdd_classifier")
    parser.add_argument("--sampler", default="dpm")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--n", type=int, default=None, help="the first n clips of each split (default all)")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--snrs", nargs="+", type=int, default=list(SNRS), choices=SNRS)
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 clips per split, white and babble at 0 dB")
    parser.add_argument("--json", default=None, help="write the per-clip results here")
    parser.add_argument("--merge", action="store_true", help="add this run's methods to an existing --json file")
    parser.add_argument("--from-json", default=None, help="print the tables of a saved run, computing nothing")
    parser.add_argument("--by-kind", action="store_true", help="also PESQ and STOI per noise kind at 0 and 5 dB")
    parser.add_argument("--plot", default=None, help="enhance: a figure of the measures against SNR")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.from_json:
        doc = json.loads(Path(args.from_json).read_text())
    else:
        doc = compute(args)
    print(enhance_tables(doc, args.by_kind) if args.task == "enhance" else vocode_tables(doc))
    if args.plot and args.task == "enhance":
        plot_enhance(doc, args.plot)
    return doc


def compute(args) -> dict:
    if args.quick:
        args.n, args.kinds, args.snrs = args.n or GROUP, ["white", "babble"], [0]
    classifier, record = load_classifier(args.classifier)
    threads, start = torch.get_num_threads(), time.monotonic()
    torch.set_num_threads(1)  # CPU seconds per second of audio on one thread
    try:
        doc = (run_enhance if args.task == "enhance" else run_vocode)(args, classifier, record)
        doc["meta"] = meta(args, time.monotonic() - start)
    finally:
        torch.set_num_threads(threads)
    if args.json:
        path = Path(args.json)
        if args.merge and path.exists():
            doc = merge(json.loads(path.read_text()), doc)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, separators=(",", ":")))
        print(f"wrote {path}", file=sys.stderr)
    return doc


if __name__ == "__main__":
    main()
