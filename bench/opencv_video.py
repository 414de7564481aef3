"""The video pipeline a Python user would build from OpenCV, as the reference of bench/video.sh.

Usage: opencv_video.py CLIP OUT.mp4 off|blend [X264_PRESET]
Decodes CLIP with OpenCV, stylizes each frame with the cartoonify recipe of the stylize bench
(bench/opencv_reference.py), and with `blend` mixes in the previous output warped by DIS optical
flow (preset fast) from the current frame to the previous one, where the forward-backward check
agrees; encodes with FFmpeg's x264 at the settings `toonflow video` uses (crf 18, yuv420p, and
the preset bench/video.sh passes: toonflow's default, veryfast, unless told otherwise).
Prints "frames<TAB>seconds<TAB>fps" for the whole run (decode to encode).
"""
import subprocess
import sys
import time

import cv2
import numpy as np

from opencv_reference import cartoonify

# Share of the warped previous output where the flow is trusted (the rest is the new frame's).
BLEND = 0.5
# Forward-backward disagreement, in pixels, beyond which a pixel counts as occluded.
FB_THRESHOLD = 1.0


def main():
    clip, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    preset = sys.argv[4] if len(sys.argv) > 4 else "veryfast"
    start = time.perf_counter()
    cap = cv2.VideoCapture(clip)
    fps = cap.get(cv2.CAP_PROP_FPS)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    enc = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(fps),
         "-i", "-", "-c:v", "libx264", "-preset", preset, "-crf", "18", "-pix_fmt", "yuv420p", out],
        stdin=subprocess.PIPE)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    grid = np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
    prev_grey = prev_out = None
    frames = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        styled = cartoonify(frame)
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if mode == "blend" and prev_out is not None:
            back = dis.calc(grey, prev_grey, None)  # current -> previous
            fwd = dis.calc(prev_grey, grey, None)  # previous -> current
            at_prev = grid + back
            warped = cv2.remap(prev_out, at_prev[..., 0], at_prev[..., 1], cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
            fwd_at_prev = cv2.remap(fwd, at_prev[..., 0], at_prev[..., 1], cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
            agree = np.linalg.norm(back + fwd_at_prev, axis=2) < FB_THRESHOLD
            mixed = cv2.addWeighted(warped, BLEND, styled, 1.0 - BLEND, 0.0)
            styled = np.where(agree[..., None], mixed, styled)
        enc.stdin.write(styled.tobytes())
        prev_grey, prev_out = grey, styled
        frames += 1
    enc.stdin.close()
    enc.wait()
    seconds = time.perf_counter() - start
    print(f"{frames}\t{seconds:.3f}\t{frames / seconds:.2f}")


if __name__ == "__main__":
    main()
