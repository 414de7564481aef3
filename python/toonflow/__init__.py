"""toonflow: photos and videos into comic, webtoon and manga styles.

Images are NumPy arrays of shape (height, width, 3) or (height, width, 4), uint8 or float in
[0, 1] (sRGB); results have the input's shape and kind. The work runs in Rust with the GIL
released, so Python threads stylize in parallel.

    >>> import numpy as np, toonflow
    >>> photo = np.zeros((64, 96, 3), np.uint8)
    >>> toonflow.stylize(photo, style="webtoon", strength=0.8).shape
    (64, 96, 3)
"""

from toonflow._native import Model, ToonflowError, styles, stylize, video

__all__ = ["Model", "ToonflowError", "styles", "stylize", "video"]
