"""The image, built once per session for the tests that run it or render the chart with it."""

import os

import pytest

from tests.deploy.container import Image


@pytest.fixture(scope="session")
def built_image() -> Image:
    """The image of ``make image`` (built, or found built from the same inputs)."""
    if os.geteuid() != 0:
        pytest.skip("building and running the image needs root (buildah --isolation chroot)")
    return Image.build()
