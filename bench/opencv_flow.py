"""OpenCV DIS optical flow on the frames the flow bench wrote, same motions, same error measure.

Usage: opencv_flow.py REPEATS MARGIN CASE...  with CASE = first.png:second.png:a:b:c:d:tx:ty, the
true motion being affine: x' = a x + b y + tx, y' = c x + d y + ty. Prints markdown table rows.
"""
import statistics
import sys
import time

import cv2
import numpy as np


def main():
    repeats, margin, cases = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    cv2.setNumThreads(2)
    for name, preset in [("ultrafast", cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST),
                         ("fast", cv2.DISOPTICAL_FLOW_PRESET_FAST),
                         ("medium", cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)]:
        dis = cv2.DISOpticalFlow_create(preset)
        times, epes = [], []
        for case in cases:
            first, second, *coefficients = case.split(":")
            a, b, c, d, tx, ty = map(float, coefficients)
            i0 = cv2.imread(first, cv2.IMREAD_GRAYSCALE)
            i1 = cv2.imread(second, cv2.IMREAD_GRAYSCALE)
            flow = dis.calc(i0, i1, None)
            for _ in range(repeats):
                t = time.perf_counter()
                flow = dis.calc(i0, i1, None)
                times.append((time.perf_counter() - t) * 1e3)
            h, w = i0.shape
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            tu = a * xs + b * ys + tx - xs
            tv = c * xs + d * ys + ty - ys
            err = np.sqrt((flow[..., 0] - tu) ** 2 + (flow[..., 1] - tv) ** 2)
            epes.append(float(err[margin:h - margin, margin:w - margin].mean()))
        print(f"| OpenCV DIS | {name} | {statistics.median(times):.1f} | {np.mean(epes):.3f} | {max(epes):.3f} |")


if __name__ == "__main__":
    main()
