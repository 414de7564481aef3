"""OpenCV references for the stylize benchmark, run on the same frames as toonflow.

Usage: opencv_reference.py OUT_DIR REPEATS FRAME.png...
Prints one line per frame and method, "frame<TAB>method<TAB>ms,ms,...", and writes each method's
output as OUT_DIR/<frame>.<method>.png.
"""
import os
import sys
import time

import cv2


def cartoonify(img):
    """The common OpenCV cartoonify recipe: bilateral filter x5 on a quarter-size copy, median
    blur and adaptive-threshold ink lines."""
    small = cv2.pyrDown(cv2.pyrDown(img))
    for _ in range(5):
        small = cv2.bilateralFilter(small, d=9, sigmaColor=9, sigmaSpace=7)
    colour = cv2.resize(small, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    grey = cv2.medianBlur(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 7)
    edges = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 2)
    return cv2.bitwise_and(colour, colour, mask=edges)


def stylization(img):
    return cv2.stylization(img, sigma_s=60, sigma_r=0.07)


def main():
    out_dir, repeats, frames = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    for path in frames:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        name = os.path.splitext(os.path.basename(path))[0]
        for method, fn, n in [("cartoonify", cartoonify, repeats), ("stylization", stylization, max(2, repeats // 4))]:
            out = fn(img)  # warm-up
            times = []
            for _ in range(n):
                t = time.perf_counter()
                out = fn(img)
                times.append((time.perf_counter() - t) * 1e3)
            cv2.imwrite(os.path.join(out_dir, f"{name}.{method}.png"), out)
            print(f"{name}\t{method}\t" + ",".join(f"{t:.3f}" for t in times), flush=True)


if __name__ == "__main__":
    main()
