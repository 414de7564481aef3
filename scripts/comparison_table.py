"""The Markdown table of scripts/compare-models.sh from the JSON figures it wrote.

Usage: python3 scripts/comparison_table.py OUT NAME [NAME ...]   (one row per NAME, in order)
"""
import json
import sys
from pathlib import Path


def main() -> None:
    out, names = Path(sys.argv[1]), sys.argv[2:]
    clips = sorted({p.name.rsplit("-", 1)[0] for p in (out / names[0]).glob("*-off.json")})
    head = ["", "fid_vgg ↓", "kid_vgg ± SE ↓", "swd ↓", "SSIM ↑", "edges ↑", "cast ↓"]
    head += [f"warping error {clip}: off / blend ↓" for clip in clips] + ["s / MP ↓"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in names:
        d = out / name
        style = json.loads((d / "style.json").read_text())
        content = json.loads((d / "content.json").read_text())
        cells = [name, f"{style['fid_vgg']:.0f}", f"{style['kid_vgg']:.2f} ± {style['kid_vgg_standard_error']:.2f}",
                 f"{style['swd']:.1f}", f"{content['ssim']:.3f}", f"{content['edge_agreement']:.3f}",
                 f"{content['colour_cast']:.3f}"]
        for clip in clips:
            off, blend = (json.loads((d / f"{clip}-{mode}.json").read_text())["warping_error"] for mode in ("off", "blend"))
            cells.append(f"{off * 1e3:.3f} / {blend * 1e3:.3f}")
        speed = d / "seconds-per-mp.txt"
        cells.append(speed.read_text().strip() if speed.exists() else "–")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
