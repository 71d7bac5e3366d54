import pytest

from generator.spec import ArtworkSpec


def make_spec(**overrides) -> ArtworkSpec:
    """Small, fast artworks: the factory every test builds its specs with."""
    return ArtworkSpec(**({"seed": 1679700, "resolution": 24, "init": "shared"} | overrides))


@pytest.fixture
def spec_factory():
    return make_spec
