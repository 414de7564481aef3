from os import PathLike
from typing import Callable, Optional, TypedDict, Union

from typing_extensions import Unpack

import numpy as np
import numpy.typing as npt

Image = Union[npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.float64]]
StrPath = Union[str, PathLike[str]]

class ToonflowError(Exception):
    """A toonflow operation failed; the message names the file and the reason."""

class StyleInfo(TypedDict):
    name: str
    description: str
    colors: int
    line_width: Optional[float]
    tone: bool

class StyleKnobs(TypedDict, total=False):
    """The adjustments over a built-in style: `toonflow stylize`'s flags. None keeps the style's."""

    colors: Optional[int]
    saturation: Optional[float]
    smoothing: Optional[int]
    line_width: Optional[float]
    line_detail: Optional[float]
    min_line_area: Optional[int]
    lines: bool
    tone: Optional[bool]
    tone_size: Optional[float]

class VideoReport(TypedDict):
    frames: int
    scene_cuts: int
    fps: float
    warnings: list[str]

def styles() -> list[StyleInfo]:
    """The built-in styles and their main settings."""

def stylize(
    image: Image,
    style: str = "comic",
    strength: float = 1.0,
    **knobs: Unpack[StyleKnobs],
) -> Image:
    """Stylizes an (H, W, 3) or (H, W, 4) image with a built-in style (comic, webtoon, manga).

    The keywords are `toonflow stylize`'s flags: strength 0 to 1, colors 1 to 256, saturation
    >= 0, smoothing in pixels at 720p (0: off), line_width above 0 up to 10, line_detail >= 0,
    lines=False for no ink, tone True/False to force screentone on or off, tone_size > 0.
    Raises ValueError for a bad shape or value, TypeError for an unsupported dtype or a keyword
    that is no knob.
    """

class Model:
    """A trained generator model file (`toonflow train` writes it), loaded once."""

    def __init__(self, path: StrPath) -> None: ...
    @property
    def styles(self) -> list[str]:
        """The style names of a conditional model (empty for a single-style one)."""
    def stylize(
        self,
        image: Image,
        style_id: Optional[str] = None,
        strength: float = 1.0,
        keep_colors: bool = False,
        full_resolution: bool = False,
    ) -> Image:
        """Stylizes an image as `toonflow stylize --model` does."""
    def forward(self, batch: npt.NDArray[np.float32], style_id: Optional[str] = None) -> npt.NDArray[np.float32]:
        """The network alone: (N, 3, H, W) float32 in [-1, 1] to the same (what `toonflow export` writes)."""

def video(
    src: StrPath,
    dst: StrPath,
    *,
    style: str = "comic",
    strength: float = 1.0,
    model: Optional[StrPath] = None,
    style_id: Optional[str] = None,
    temporal: str = "blend",
    temporal_strength: float = 0.75,
    start: Optional[float] = None,
    duration: Optional[float] = None,
    crf: Optional[int] = None,
    x264_preset: Optional[str] = None,
    progress: Optional[Callable[[int, Optional[int]], object]] = None,
    **knobs: Unpack[StyleKnobs],
) -> VideoReport:
    """Stylizes a video file into another (format by extension: .mp4, .mkv, .webm, .gif or a folder
    of PNG frames), as `toonflow video` does: timing, size and audio kept, flicker removed.
    `progress(done, total)` is called after each frame; an exception from it or Ctrl-C stops the
    run and leaves no output. Needs FFmpeg."""
