"""Edge fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from edge_helpers import MjpegCamera


@pytest.fixture
def mjpeg_camera() -> Iterator[MjpegCamera]:
    camera = MjpegCamera()
    try:
        yield camera
    finally:
        camera.close()
