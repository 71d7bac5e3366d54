"""Black-and-white rasterisations of shapes whose box-counting dimension is known."""

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
