"""`attnart review`: a static contact sheet of a catalog's best candidates.

One HTML file, everything inline (the preview images the sweep stored as data URIs, the CSS,
the script), so it works from file:// and asks nothing of any server; a Content Security
Policy forbids any request at all. The page sorts the candidates by each score; the liked
(ticked) ones become a seeds TOML (the same `[[artwork]]` tables as `attnart select` writes)
to copy or download, ready for `attnart build` or `select --like`, and the liked and disliked
ones a ratings TOML (`liked = [ids]`, `disliked = [ids]`) for `select --learn`.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from generator.catalog import THUMBNAIL, Record, open_catalog
from generator.curate import Criteria, artwork_toml, check_out, select
from generator.errors import SpecError
from generator.files import write_files
from generator.score import measured
from generator.theme import Theme

# (score key, column label, format) of every number a card shows and the page sorts by.
COLUMNS = (
    ("fractal_dimension", "D", "{:.3f}"),
    ("raw_fractal_dimension", "D raw", "{:.3f}"),
    ("white_fraction", "white", "{:.1%}"),
    ("grey_fraction", "grey", "{:.1%}"),
    ("grey_entropy", "entropy", "{:.2f}"),
    ("compression", "zlib", "{:.2f}"),
    ("lacunarity", "lacunarity", "{:.2f}"),
    ("speckle", "speckle", "{:.3f}"),
    ("solid_black", "solid black", "{:.1%}"),
)


@dataclass(frozen=True)
class Review:
    shown: int  # candidates on the sheet
    considered: int  # records in the catalog


def _image_uri(record: Record) -> str:
    """The stored preview image, or (version 1 catalogs) the 32² thumbnail, as a data URI."""
    png = record.image
    if png is None:
        grey = np.frombuffer(record.thumbnail, dtype=np.uint8).reshape(THUMBNAIL, THUMBNAIL)
        buf = io.BytesIO()
        Image.fromarray(grey, mode="L").save(buf, format="PNG")
        png = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def review_context(records: list[Record], *, catalog: str, preview: int, top: int) -> dict:
    """Everything the page shows, from the records alone: the best `top` of `select`'s
    default order (near-duplicates and mostly-one-colour images left out)."""
    criteria = replace(Criteria(), top=top)
    picks = select(records, criteria).picks
    cards = []
    for rank, record in enumerate(picks, 1):
        s = record.scores
        cards.append({
            "rank": rank, "seed": str(record.spec.seed), "id": record.spec.id,
            "image": _image_uri(record), "toml": artwork_toml(record), "measured": measured(s),
            "numbers": [(key, label, fmt.format(s[key]) if key in s else "–",
                         s.get(key, "")) for key, label, fmt in COLUMNS],
        })
    return {"catalog": catalog, "preview": preview, "considered": len(records),
            "criteria": criteria.describe(), "columns": COLUMNS, "cards": cards,
            "heading": f"# Favourites ticked in attnart review of {catalog} ({preview}² "
                       "previews).\n# Fields left out take the command line's values, and "
                       "those the defaults.\n"}


REVIEW_MARK = b'<meta name="generator" content="attnart review">'  # in review.html's head


SIZES = (128, 256)  # sides a card may show its preview at, in CSS pixels


def write_review(catalog: Path, out: Path, *, top: int = 200, force: bool = False,
                 size: int = 128, templates: Path | None = None) -> Review:
    """Write the contact sheet of `catalog`'s best `top` candidates to `out`, each preview
    shown `size` pixels wide, in the theme of `templates` (a folder whose `review.html`
    replaces the built-in one)."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise SpecError(f"top must be a positive integer, got {top!r}")
    if size not in SIZES:
        raise SpecError(f"--size must be one of {', '.join(map(str, SIZES))}, got {size}")
    theme = Theme(templates)
    template = theme.templates("review.html")["review.html"]  # a broken theme fails first
    check_out(out, force=force, catalog=catalog, suffix=".html", marks=(REVIEW_MARK,))
    with open_catalog(catalog, readonly=True) as cat:
        records, preview = cat.records(), cat.preview
    context = review_context(records, catalog=catalog.name, preview=preview, top=top)
    if not context["cards"]:
        raise SpecError(f"none of the {len(records)} artworks in {catalog} is a candidate "
                        f"(all mostly one colour); {out} was not written")
    with theme.errors():
        page = template.render(context, size=size)
    write_files({out: page.encode()})
    return Review(len(context["cards"]), len(records))
