"""Where call recordings live on disk, and how a recording name becomes a file safely.

Asterisk writes ``<recordings_dir>/<name>.wav`` (the controller's Record command names them
``<call>-<node>-<n>``). A name reaches us from the database (a call step's ``detail.name`` or
a case's ``audio_ref``); it is still checked — plain characters only, resolved inside the
recordings directory — so a tampered row cannot read another file.
"""

from __future__ import annotations

import re
from pathlib import Path

from api.errors import NotFoundError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def recording_file(root: Path, name: str) -> Path:
    """The WAV file of recording `name` under `root`; NotFoundError if unsafe or missing."""
    stem = name[:-4] if name.endswith(".wav") else name
    if not _NAME.match(stem) or ".." in stem:
        raise NotFoundError(f"recording {name!r} is not a valid recording name")
    base = root.resolve()
    path = (base / f"{stem}.wav").resolve()
    if not path.is_relative_to(base):
        raise NotFoundError(f"recording {name!r} is outside the recordings directory")
    if not path.is_file():
        raise NotFoundError(f"recording {stem} is not on disk (looked in {base})")
    return path
