"""Black-and-white rasterisations of shapes whose box-counting dimension is known."""

import functools

import numpy as np
from skimage.draw import disk, polygon

ROTATE_60 = np.array([[0.5, -np.sqrt(3) / 2], [np.sqrt(3) / 2, 0.5]])


def filled(vertices: np.ndarray, n: int) -> np.ndarray:
    """The polygon with (x, y) `vertices` filled: the pixels whose centres it contains."""
    image = np.zeros((n, n), bool)
    image[polygon(vertices[:, 1], vertices[:, 0], image.shape)] = True
    return image


def straight_edge(n: int) -> np.ndarray:  # dimension 1
    y, x = np.mgrid[:n, :n]
    return y < 0.37 * x + n / 5


def round_disk(n: int) -> np.ndarray:  # dimension 1
    image = np.zeros((n, n), bool)
    image[disk((n / 2, n / 2), n * 0.37, shape=image.shape)] = True
    return image


def koch_curve(n: int, depth: int = 6) -> np.ndarray:  # boundary dimension log 4 / log 3
    return _koch_curve(n, depth).copy()  # drawing its 4,097 corners takes seconds: once


@functools.cache
def _koch_curve(n: int, depth: int) -> np.ndarray:
    # depth 6: segments of 1.4 px at 1024², finer than the smallest box the fit uses
    points = np.array([[0.0, 0.0], [1.0, 0.0]])
    for _ in range(depth):
        p, q = points[:-1], points[1:]
        third = (q - p) / 3
        peak = p + third + third @ ROTATE_60.T
        points = np.vstack([np.stack([p, p + third, peak, p + 2 * third], 1).reshape(-1, 2),
                            points[-1:]])
    points = points * (n - 1) + [0, 0.3 * n]  # the region under the curve is white
    return filled(np.vstack([points, [[n - 1, 0], [0, 0]]]), n)


def sierpinski_triangle(n: int, depth: int = 7) -> np.ndarray:  # dimension log 3 / log 2
    # depth 7: the smallest holes are 8 px wide, two of the fit's smallest boxes
    side = n - 1
    top = (side - side * np.sqrt(3) / 2) / 2
    triangle = np.array([[0, side - top], [side, side - top], [side / 2, top]])
    image = filled(triangle, n)

    def carve(corners, level):
        if level:
            mids = (corners + np.roll(corners, -1, axis=0)) / 2
            image[filled(mids, n)] = False
            for i in range(3):
                carve(np.array([corners[i], mids[i], mids[i - 1]]), level - 1)

    carve(triangle, depth)
    return image


# Pixel-level fractals: detail down to one pixel, placed off-centre (not on a power-of-two
# grid). Each is drawn to the finest level the pixels allow.


def place(pattern: np.ndarray, n: int, at: tuple[int, int]) -> np.ndarray:
    """`pattern` in an n×n black frame, its top-left pixel at `at` (row, column)."""
    image = np.zeros((n, n), bool)
    h, w = pattern.shape
    image[at[0]:at[0] + h, at[1]:at[1] + w] = pattern
    return image


def triadic(keep: np.ndarray, levels: int) -> np.ndarray:
    """The 3^levels-pixel square where each cell of a 3×3 `keep` motif holds the motif again."""
    pattern = np.ones((1, 1), bool)
    for _ in range(levels):
        pattern = np.kron(keep, pattern).astype(bool)
    return pattern


CARPET = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], bool)
VICSEK = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
DUST = np.array([[1, 0, 1], [0, 0, 0], [1, 0, 1]], bool)


def sierpinski_carpet(n: int, at=(137, 61)) -> np.ndarray:  # log 8 / log 3 (Mandelbrot 1982)
    # 729 px: holes down to one pixel; every hole's edge is boundary, and their closure is
    # the carpet
    return place(triadic(CARPET, 6), n, at)


def vicsek(n: int, at=(201, 143)) -> np.ndarray:  # log 5 / log 3 (Vicsek 1983)
    return place(triadic(VICSEK, 6), n, at)


def cantor_dust(n: int, at=(59, 233)) -> np.ndarray:  # log 4 / log 3 (Falconer 2003, ex. 9.2)
    # the product of two middle-third Cantor sets, as single white pixels at level 6
    return place(triadic(DUST, 6), n, at)


def bitwise_sierpinski(n: int, at=(301, 77), side=512) -> np.ndarray:  # log 3 / log 2
    # white where x & y == 0: Pascal's triangle mod 2, the dyadic Sierpinski gasket to the
    # pixel (Wolfram 1984)
    y, x = np.mgrid[:side, :side]
    return place((x & y) == 0, n, at)


# Coarse fractals: the finest detail several pixels wide, so the boundary is straight below it.


def coarse(pattern: np.ndarray, cell: int) -> np.ndarray:
    """Each pixel of `pattern` as a cell×cell square."""
    return np.kron(pattern, np.ones((cell, cell), bool)).astype(bool)


def rasterised(keep: np.ndarray, levels: int, size: int) -> np.ndarray:
    """The triadic motif `keep` to `levels` levels sampled at size² pixel centres: cells of
    size / 3^levels pixels, not a whole number (how a drawing program would draw it)."""
    u = (np.arange(size) + 0.5) / size
    digits = np.floor(u[:, None] * 3.0 ** np.arange(1, levels + 1)).astype(int) % 3
    image = np.ones((size, size), bool)
    for level in range(levels):
        image &= keep[digits[:, level][:, None], digits[:, level][None, :]]
    return image
