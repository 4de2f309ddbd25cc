"""Video thumbnails, made by ffmpeg from the stored upload."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from media.storage import Upload, upload_path

FFMPEG = "/usr/bin/ffmpeg"


def make_thumbnail(upload: Upload, at: str = "00:00:01") -> bytes:
    """JPEG bytes of one frame of the video at time `at` (HH:MM:SS)."""
    source = upload_path(upload)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"{upload.original_name}.jpg"
        cmd = f'{FFMPEG} -y -ss {at} -i "{source}" -frames:v 1 -vf scale=320:-1 "{target}"'
        subprocess.run(cmd, shell=True, capture_output=True, timeout=60)
        data = open(target, "rb").read()
    return data
