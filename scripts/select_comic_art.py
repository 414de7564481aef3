"""Picks comic-like drawings out of Debian's openclipart-png (public domain clip art).

Keeps drawings that look like comic panels' raw material: outlined (a good share of near-black
pixels, on edges), flat colour (few distinct colours carry most of the picture), coloured (not
line art only), and large enough. Copies them, flattened on white, into OUT/train and OUT/heldout
(every tenth kept image is held out for evaluation).

Usage: python scripts/select_comic_art.py /usr/share/openclipart/png OUT [MAX]   (needs pillow, numpy)
"""
import os, sys
import numpy as np
from PIL import Image

src, out = sys.argv[1], sys.argv[2]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 400
kept = 0
SKIP = {"jigsaw", "apps", "icons", "mimetypes", "filesystems", "folders", "arrows", "actions", "computer",
        "devices", "hardware", "office", "education", "shapes", "bulb", "chess"}
for root, _, files in sorted(os.walk(src)):
    if os.path.basename(root) in SKIP or any(part in root for part in ("logos", "buttons", "signs_and_symbols")):
        continue  # icons, puzzle pieces, symbols and text: not drawings of things
    for name in sorted(files):
        if not name.endswith(".png") or kept >= limit:
            continue
        try:
            im = Image.open(os.path.join(root, name))  # noqa: large files are fine here
            if min(im.size) < 160:
                continue
            im = im.convert("RGBA")
        except Exception:
            continue
        rgba = np.asarray(im).astype(np.float32) / 255.0
        a = rgba[..., 3:4]
        rgb = rgba[..., :3] * a + (1.0 - a)  # on white paper
        content = (rgb.min(axis=2) < 0.92)
        if content.mean() < 0.25:
            continue  # mostly empty paper
        dark = (rgb.max(axis=2) < 0.2) & content
        if not 0.03 < dark.mean() / content.mean() < 0.35:
            continue  # no outlines, or a silhouette
        q = (rgb[content] * 7.99).astype(np.int32)
        codes = q[:, 0] * 64 + q[:, 1] * 8 + q[:, 2]
        counts = np.sort(np.bincount(codes, minlength=512))[::-1]
        if counts[:8].sum() / counts.sum() < 0.85:
            continue  # gradients or photo-like shading, not flat colour
        sat = rgb.max(axis=2) - rgb.min(axis=2)
        if (sat[content] > 0.25).mean() < 0.25:
            continue  # grey line art
        a8 = (rgb * 255).astype(int)
        grey = ((abs(a8[..., 0] - a8[..., 1]) < 8) & (abs(a8[..., 1] - a8[..., 2]) < 8) & (a8[..., 0] > 100) & (a8[..., 0] < 190)).mean()
        pink = ((a8[..., 0] > 230) & (a8[..., 1] > 90) & (a8[..., 1] < 170) & (a8[..., 2] > 90) & (a8[..., 2] < 170)).mean()
        if pink > 0.003 and grey > 0.01:
            continue  # the "Linked Image Not Found" placeholder some files carry
        split = "heldout" if kept % 10 == 9 else "train"
        os.makedirs(os.path.join(out, split), exist_ok=True)
        Image.fromarray((rgb * 255).round().astype(np.uint8)).save(
            os.path.join(out, split, f"{os.path.basename(root)}-{name}"))
        kept += 1
print(f"kept {kept} drawings")
