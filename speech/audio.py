"""Audio plumbing of the speech layer: WAV in and out, G.711 μ-law, resampling, 20 ms frames.

Everything a phone line does to sound lives here, with numpy only:

- ``read_wav`` takes any RIFF/WAVE a person may hand us (PCM 8/16/24/32-bit, float, μ-law,
  extensible, mono or more channels, and espeak-ng's streamed header whose sizes are wrong);
  ``write_wav`` writes what Asterisk plays: mono signed 16-bit PCM, atomically.
- ``ulaw_encode``/``ulaw_decode``: ITU-T G.711 μ-law, bit-exact with the reference tables.
- ``resample``: band-limited resampling by FFT (any ratio: 22 050 → 8 000, 8 000 ↔ 16 000).
- ``phone_line``: what a call does to a recording — band-pass 300–3400 Hz, 8 kHz, μ-law and back.
- ``frames``: 20 ms frames (160 samples at 8 kHz), the unit of the streaming recogniser.

Audio is carried as ``Audio(samples: int16 ndarray, rate)``; no function here reads a clock.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from speech.errors import AudioFormatError

PHONE_RATE = 8000
"""Sample rate of the telephone line (G.711) and of the prompts Asterisk plays."""
FRAME_MS = 20
"""Duration of one streaming frame (the RTP packetisation of G.711)."""
PHONE_FRAME_SAMPLES = PHONE_RATE * FRAME_MS // 1000
PHONE_FRAME_BYTES = PHONE_FRAME_SAMPLES * 2

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]

_FORMAT_PCM = 1
_FORMAT_FLOAT = 3
_FORMAT_ULAW = 7
_FORMAT_EXTENSIBLE = 0xFFFE


@dataclass(frozen=True, eq=False)
class Audio:
    """Mono signed 16-bit samples at ``rate`` Hz."""

    samples: Int16Array
    rate: int

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int16 or self.samples.ndim != 1:
            raise AudioFormatError(
                f"Audio needs mono int16 samples, got {self.samples.dtype} "
                f"with shape {self.samples.shape}"
            )
        if self.rate <= 0:
            raise AudioFormatError(f"Audio needs a positive sample rate, got {self.rate}")

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate

    def to_bytes(self) -> bytes:
        """Raw little-endian s16 PCM (what Vosk and AudioSocket take)."""
        return self.samples.astype("<i2").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, rate: int) -> Audio:
        if len(data) % 2:
            raise AudioFormatError(f"s16 PCM needs an even number of bytes, got {len(data)}")
        return cls(np.frombuffer(data, dtype="<i2").astype(np.int16), rate)

    def to_rate(self, rate: int) -> Audio:
        return self if rate == self.rate else Audio(resample(self.samples, self.rate, rate), rate)


# --- WAV -----------------------------------------------------------------------------------------
def read_wav(path: Path | str) -> Audio:
    """Read a WAV file as mono int16 at its own rate (channels are averaged)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioFormatError(f"cannot read WAV file {path}: {exc.strerror}") from exc
    return parse_wav(data, name=str(path))


def parse_wav(data: bytes, *, name: str = "<bytes>") -> Audio:
    """Parse RIFF/WAVE bytes; tolerant of streamed headers whose sizes are 0 or 0xFFFFFFFF."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(f"{name} is not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body_start = pos + 8
        if chunk_id == b"fmt ":
            if size < 16:
                raise AudioFormatError(f"{name}: fmt chunk too short ({size} bytes)")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
            if tag == _FORMAT_EXTENSIBLE and size >= 40:
                (tag,) = struct.unpack("<H", data[pos + 32 : pos + 34])
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFormatError(f"{name}: data chunk before fmt chunk")
            # espeak-ng --stdout and some recorders write 0 or 0xFFFFFFFF: take the rest.
            end = body_start + size
            if size == 0 or end > len(data):
                end = len(data)
            return _decode_samples(data[body_start:end], *fmt, name=name)
        pos = body_start + size + (size & 1)
    raise AudioFormatError(f"{name}: no data chunk")


def _decode_samples(
    raw: bytes, tag: int, channels: int, rate: int, bits: int, *, name: str
) -> Audio:
    if channels < 1 or rate < 1:
        raise AudioFormatError(f"{name}: {channels} channels at {rate} Hz")
    width = bits // 8
    if tag == _FORMAT_ULAW and bits == 8:
        values: FloatArray = ulaw_decode(raw).astype(np.float64)
    elif tag == _FORMAT_PCM and bits == 8:
        values = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    elif tag == _FORMAT_PCM and bits == 16:
        values = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float64)
    elif tag == _FORMAT_PCM and bits == 24:
        usable = len(raw) // 3 * 3
        b = np.frombuffer(raw[:usable], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        values = ints.astype(np.float64) / 256.0
    elif tag == _FORMAT_PCM and bits == 32:
        values = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<i4").astype(np.float64) / 65536.0
    elif tag == _FORMAT_FLOAT and bits in (32, 64):
        dtype = "<f4" if bits == 32 else "<f8"
        usable = len(raw) // width * width
        values = np.frombuffer(raw[:usable], dtype=dtype).astype(np.float64) * 32767.0
    else:
        raise AudioFormatError(f"{name}: unsupported WAV encoding (format tag {tag}, {bits} bits)")
    usable_frames = len(values) // channels
    if channels > 1:
        values = values[: usable_frames * channels].reshape(-1, channels).mean(axis=1)
    return Audio(_to_int16(values), rate)


def wav_bytes(audio: Audio) -> bytes:
    """RIFF/WAVE bytes of mono signed 16-bit PCM."""
    pcm = audio.to_bytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        _FORMAT_PCM,
        1,
        audio.rate,
        audio.rate * 2,
        2,
        16,
        b"data",
        len(pcm),
    )
    return header + pcm


def write_wav(path: Path | str, audio: Audio) -> Path:
    """Write mono s16 PCM WAV atomically (a reader — Asterisk — never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(wav_bytes(audio))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --- G.711 μ-law ------------------------------------------------------------------------------
_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def ulaw_encode(samples: Int16Array) -> bytes:
    """G.711 μ-law encode int16 samples (one byte each)."""
    x = samples.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0x00)
    magnitude = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    # exponent = position of the highest set bit of (magnitude >> 7), 0..7
    exponent = np.floor(np.log2(np.maximum(magnitude >> 7, 1))).astype(np.int32)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded = ~(sign | (exponent << 4) | mantissa) & 0xFF
    return bytes(encoded.astype(np.uint8).tobytes())


def ulaw_decode(data: bytes) -> Int16Array:
    """G.711 μ-law decode bytes to int16 samples."""
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


# --- resampling and filtering --------------------------------------------------------------------
def _to_int16(values: FloatArray) -> Int16Array:
    return np.clip(np.rint(values), -32768, 32767).astype(np.int16)


def resample(samples: Int16Array, src_rate: int, dst_rate: int) -> Int16Array:
    """Band-limited resampling by FFT: the spectrum is cut (or zero-padded) at the new Nyquist.

    Strategy: pad 50 ms of silence at both ends so that the FFT's circular wrap-around lands in
    the padding, resample the whole buffer, then trim. Exact for 8 k ↔ 16 k; fine for any ratio.
    """
    if src_rate == dst_rate or len(samples) == 0:
        return samples.copy()
    if src_rate <= 0 or dst_rate <= 0:
        raise AudioFormatError(f"cannot resample {src_rate} Hz -> {dst_rate} Hz")
    pad = src_rate // 20
    x = np.concatenate([np.zeros(pad), samples.astype(np.float64), np.zeros(pad)])
    n = len(x)
    m = round(n * dst_rate / src_rate)
    spectrum = np.fft.rfft(x)
    out_bins = m // 2 + 1
    if out_bins <= len(spectrum):
        new_spectrum = spectrum[:out_bins].copy()
        if m % 2 == 0:
            new_spectrum[-1] = new_spectrum[-1].real  # the Nyquist bin of an even length is real
    else:
        new_spectrum = np.zeros(out_bins, dtype=np.complex128)
        new_spectrum[: len(spectrum)] = spectrum
        if n % 2 == 0:
            new_spectrum[len(spectrum) - 1] /= 2  # split the old Nyquist bin between ±f
    y = np.fft.irfft(new_spectrum, m) * (m / n)
    out_pad = round(pad * dst_rate / src_rate)
    out_len = round(len(samples) * dst_rate / src_rate)
    return _to_int16(y[out_pad : out_pad + out_len])


def band_pass(samples: Int16Array, rate: int, low_hz: float, high_hz: float) -> Int16Array:
    """Zero the spectrum outside [low_hz, high_hz] with 50 Hz cosine edges (no ringing cliffs)."""
    if len(samples) == 0:
        return samples.copy()
    spectrum = np.fft.rfft(samples.astype(np.float64))
    freqs = np.fft.rfftfreq(len(samples), 1.0 / rate)
    edge = 50.0
    gain = np.ones_like(freqs)
    lo = freqs < low_hz
    gain[lo] = 0.5 * (1 + np.cos(np.pi * np.clip((low_hz - freqs[lo]) / edge, 0, 1)))
    hi = freqs > high_hz
    gain[hi] = 0.5 * (1 + np.cos(np.pi * np.clip((freqs[hi] - high_hz) / edge, 0, 1)))
    return _to_int16(np.fft.irfft(spectrum * gain, len(samples)))


def phone_line(audio: Audio) -> Audio:
    """What a G.711 call does to a recording: 300–3400 Hz, 8 kHz, μ-law, back to 16-bit."""
    narrow = Audio(band_pass(audio.samples, audio.rate, 300.0, 3400.0), audio.rate)
    at_8k = narrow.to_rate(PHONE_RATE)
    return Audio(ulaw_decode(ulaw_encode(at_8k.samples)), PHONE_RATE)


def normalise_peak(audio: Audio, peak_dbfs: float = -3.0) -> Audio:
    """Scale so that the loudest sample sits at ``peak_dbfs`` (silence is left as it is)."""
    peak = int(np.max(np.abs(audio.samples.astype(np.int32)))) if len(audio.samples) else 0
    if peak == 0:
        return audio
    target = 32767.0 * 10 ** (peak_dbfs / 20)
    return Audio(_to_int16(audio.samples.astype(np.float64) * (target / peak)), audio.rate)


# --- framing and energy --------------------------------------------------------------------------
def frame_samples(rate: int, frame_ms: int = FRAME_MS) -> int:
    return rate * frame_ms // 1000


def frames(audio: Audio, frame_ms: int = FRAME_MS, *, pad_last: bool = True) -> Iterator[Audio]:
    """Cut audio into frames of ``frame_ms``; the last partial frame is zero-padded or dropped."""
    size = frame_samples(audio.rate, frame_ms)
    if size <= 0:
        raise AudioFormatError(f"a {frame_ms} ms frame at {audio.rate} Hz has no samples")
    for start in range(0, len(audio.samples), size):
        chunk = audio.samples[start : start + size]
        if len(chunk) < size:
            if not pad_last:
                return
            chunk = np.concatenate([chunk, np.zeros(size - len(chunk), dtype=np.int16)])
        yield Audio(chunk, audio.rate)


def frame_dbfs(samples: Int16Array) -> float:
    """RMS level of a frame in dB relative to full scale (-inf dBFS is reported as -120)."""
    if len(samples) == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    if rms <= 0:
        return -120.0
    return max(-120.0, 20.0 * float(np.log10(rms / 32768.0)))
