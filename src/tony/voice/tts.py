"""Text to speech with espeak-ng (Debian): a voice is an espeak-ng language with an optional variant,
"en-gb-scotland" or "en-us+f3", at a speed in words per minute; the speech comes back at 16 kHz.

Only espeak-ng's own voices are offered (its MBROLA voices need MBROLA, which tony does not install). espeak-ng
accepts an unknown variant silently, so voices are checked here against what it lists.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

import numpy as np

from tony.core.errors import ModelError, SpecError, UnknownComponentError
from tony.voice.audio import read_wav

STANDARD_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us-nyc")
"""The English accents every voice evaluation uses by default (American, British, Scottish, Caribbean, New York)."""
DEFAULT_VOICE = "en-us"
DEFAULT_SPEED = 175
"""espeak-ng's default speaking rate, words per minute."""
SPEED_RANGE = (80, 450)
"""The rates espeak-ng speaks at."""


def _espeak(args: list[str], text: str = "") -> subprocess.CompletedProcess[bytes]:
    if shutil.which("espeak-ng") is None:
        raise ModelError("espeak-ng is not installed: run `make install` (apt-get install espeak-ng)")
    return subprocess.run(["espeak-ng", *args], input=text.encode("utf-8"), capture_output=True, check=False)


@cache
def languages() -> frozenset[str]:
    """espeak-ng's own language voices (MBROLA ones left out)."""
    listing = _espeak(["--voices"]).stdout.decode(errors="replace").splitlines()[1:]
    return frozenset(cols[1] for cols in (line.split() for line in listing) if len(cols) >= 5
                     and not cols[4].startswith("mb/"))


@cache
def variants() -> frozenset[str]:
    """espeak-ng's voice variants ("f3", "m1", "klatt", ...), the part after "+" in a voice."""
    listing = _espeak(["--voices=variant"]).stdout.decode(errors="replace").splitlines()[1:]
    return frozenset(cols[4].removeprefix("!v/") for cols in (line.split() for line in listing) if len(cols) >= 5)


def check_voice(voice: str) -> str:
    """`voice` when espeak-ng has it; an UnknownComponentError saying which voices there are otherwise."""
    language, _, variant = voice.partition("+")
    if language not in languages():
        english = sorted(v for v in languages() if v.startswith("en"))
        raise UnknownComponentError(f"unknown voice '{voice}': give an espeak-ng language ({', '.join(english)}, "
                                    "or see `espeak-ng --voices`), optionally +VARIANT (e.g. en-us+f3)")
    if variant and variant not in variants():
        raise UnknownComponentError(f"unknown voice variant '{variant}' in '{voice}': see `espeak-ng "
                                    "--voices=variant` (e.g. f1..f5, m1..m8, klatt)")
    return voice


def check_speed(speed: int) -> int:
    low, high = SPEED_RANGE
    if not low <= speed <= high:
        raise SpecError(f"speed {speed} is outside espeak-ng's {low}..{high} words per minute; pick one inside")
    return speed


def synthesize(text: str, voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED) -> np.ndarray:
    """`text` spoken by `voice` at `speed` words per minute: float samples at 16 kHz (empty for blank text).
    The text goes through stdin, so nothing in it is read as an option."""
    check_voice(voice)
    check_speed(speed)
    if not text.strip():
        return np.zeros(0, dtype=np.float32)
    done = _espeak(["-v", voice, "-s", str(speed), "-b", "1", "--stdout"], text)
    if done.returncode != 0 or not done.stdout:
        raise ModelError(f"espeak-ng failed ({done.stderr.decode(errors='replace').strip() or done.returncode})")
    return read_wav(done.stdout, what="espeak-ng's output")
