"""Social cards: the 1200×630 image a link preview shows (Open Graph, Twitter's
`summary_large_image`): the art whole on the theme's background, its title and seed beside.

Text is set in Pillow's own font (FreeType, shipped in Pillow's wheels), so a card looks the
same on every machine and needs no system font.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630  # what Open Graph and Twitter's large card display
MARGIN = 40
BACKGROUND, TEXT, MUTED, EDGE = "#111111", "#eeeeee", "#a3a3a3", "#666666"  # gallery.css, dark


def _lines(draw: ImageDraw.ImageDraw, text: str, font, width: int, most: int) -> list[str]:
    """`text` broken between words into at most `most` lines of `width` pixels; an ellipsis
    ends it where it does not fit."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] += " …"
    for i, line in enumerate(lines):
        while draw.textlength(line, font=font) > width and len(line) > 1:
            line = line[:-2] + "…"
        lines[i] = line
    return lines


def card(art: Image.Image, *, title: str, seed: int, site: str) -> bytes:
    """The card of an artwork as PNG bytes: `art` (any mode) fitted into the left square,
    never blurred (enlarged pixels stay square), title, seed and the site's name on the right."""
    side = HEIGHT - 2 * MARGIN
    resample = Image.Resampling.NEAREST if art.width < side else Image.Resampling.LANCZOS
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    image.paste(art.convert("RGB").resize((side, side), resample), (MARGIN, MARGIN))
    draw = ImageDraw.Draw(image)
    draw.rectangle((MARGIN - 1, MARGIN - 1, MARGIN + side, MARGIN + side), outline=EDGE)
    left = 2 * MARGIN + side
    width = WIDTH - left - MARGIN
    big, small = ImageFont.load_default(size=56), ImageFont.load_default(size=34)
    y = MARGIN + 20
    for line in _lines(draw, title, big, width, 4):
        draw.text((left, y), line, font=big, fill=TEXT)
        y += 68
    draw.text((left, y + 16), f"Seed {seed}", font=small, fill=MUTED)
    for i, line in enumerate(reversed(_lines(draw, site, small, width, 2))):
        draw.text((left, HEIGHT - MARGIN - 44 * (i + 1)), line, font=small, fill=MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
