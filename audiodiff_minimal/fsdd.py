"""The Free Spoken Digit Dataset: a public folder of real recordings to train on (chapter ``08``).

FSDD ("MNIST for audio") holds about 3000 recordings of the digits 0-9 spoken in English by six
speakers, mono WAV at 8 kHz (the textbook's sample rate), trimmed to little silence, each shorter than
a second. Files are named ``{digit}_{speaker}_{index}.wav``, e.g. ``3_jackson_12.wav``.

Licence: Creative Commons Attribution-ShareAlike 4.0 (CC BY-SA 4.0). Credit: Z. Jackson, C. Souza,
J. Flaks, Y. Pan, H. Nicolas, A. Thite, Free Spoken Digit Dataset (2016-2018),
https://github.com/Jakobovski/free-spoken-digit-dataset. The recordings are never committed here;
:func:`download_fsdd` fetches them into ``data/downloads/`` (git-ignored).

Offline (no network, or only a package mirror, as in CI): on a machine with network, download the
archive ``FSDD_URL`` (a zip of about 16 MB), copy it here, and run
``download_fsdd(url="file:///path/to/free-spoken-digit-dataset-master.zip")``; or unzip its
``recordings`` folder anywhere and pass that folder to ``--data``. Any folder of WAV files works
the same way (``data.WavFolder``); nothing in the textbook needs FSDD.
"""

import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

from tqdm.auto import tqdm

FSDD_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/heads/master.zip"
DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "data" / "downloads" / "fsdd"

OFFLINE_ADVICE = (
    "To use FSDD without network here: download {url} on a machine with network, copy the zip to this machine "
    "and call download_fsdd(url='file:///path/to/the.zip'), or unzip its 'recordings' folder and train with "
    "--data PATH_TO/recordings. Any folder of WAV files works the same way (--data PATH)."
)


class FSDDUnavailable(RuntimeError):
    """FSDD could not be fetched or unpacked; the message says what to do offline."""


def download_fsdd(root: str | Path = DEFAULT_ROOT, url: str = FSDD_URL, timeout: float = 30) -> Path:
    """The folder of FSDD's WAV files, ``root/recordings``, downloading and unpacking the archive if needed.

    Idempotent: if ``root/recordings`` holds WAV files, it is returned at once. The archive is fetched to a
    temporary file and only its ``*/recordings/*.wav`` members are unpacked, into a temporary folder that is
    renamed into place at the end, so an interrupted download never looks like a finished one.
    Raises:
        FSDDUnavailable: no network, a bad URL, or an archive that is not a zip of FSDD; with offline advice.
    """
    target = Path(root) / "recordings"
    if target.is_dir() and any(target.glob("*.wav")):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    advice = OFFLINE_ADVICE.format(url=FSDD_URL)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = Path(tmp) / "fsdd.zip"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(archive, "wb") as f:
                size = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=size, unit="B", unit_scale=True, desc="FSDD") as bar:
                    while chunk := response.read(1 << 16):
                        f.write(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise FSDDUnavailable(f"cannot download FSDD from {url}: {err}. {advice}") from err
        unpacked = Path(tmp) / "recordings"
        unpacked.mkdir()
        try:
            with zipfile.ZipFile(archive) as z:
                members = [m for m in z.namelist() if "/recordings/" in f"/{m}" and m.lower().endswith(".wav")]
                for member in members:
                    with z.open(member) as src, open(unpacked / Path(member).name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:  # not a zip, or a damaged member
            raise FSDDUnavailable(f"{url}: not a zip archive or a damaged one ({err}); the download is corrupt. "
                                  f"{advice}") from err  # fmt: skip
        if not members:
            raise FSDDUnavailable(f"{url}: the archive has no recordings/*.wav files; is it FSDD? {advice}")
        if target.exists():  # an empty or partial folder from an earlier attempt
            shutil.rmtree(target)
        unpacked.rename(target)
    return target


def digit_of(path: str | Path) -> int:
    """The spoken digit of an FSDD file, from its name ``{digit}_{speaker}_{index}.wav``."""
    name = Path(path).name
    head = name.split("_", 1)[0]
    if not head.isdigit() or name.count("_") != 2:
        raise ValueError(f"{path}: not an FSDD file name (expected '{{digit}}_{{speaker}}_{{index}}.wav')")
    return int(head)
