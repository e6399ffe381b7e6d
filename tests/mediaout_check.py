#!/usr/bin/env python3
"""Checks on rendered clips for the t_render* tests.

  mediaout_check.py probe CLIP.mp4 START END
      prints "codec width height acodec vdur adiff sar" where vdur is the
      video's duration minus (END - START) and adiff the audio/video start
      offset, both in seconds
  mediaout_check.py crops CROP.json...   (framings, version 1 or 2)
      exits 1 unless every point of every path keeps the window inside the
      source frame
  mediaout_check.py band A.mp4 B.mp4 T
      per cent of the caption band's pixels (60%..82% of the height)
      that differ by more than 48 levels between the frames at T seconds
      of A and B: caption text and its outline, not encoding noise
  mediaout_check.py capbox A.mp4 B.mp4 T
      prints "TOP BOTTOM LEFT RIGHT", the rows and columns of the pixels that
      differ by more than 48 levels between the frames at T seconds of A and
      B (rows with fewer than 4 such pixels left out): where the captions
      are, or "-1 -1 -1 -1" when nowhere
  mediaout_check.py face FACES T
      prints "TOP BOTTOM" of the face box in the sample of FACES (the output
      of mediaout detect) nearest T, or "-1 -1" when none was found there
  mediaout_check.py fit CLIP.mp4 SRC.mp4 T START PY PH
      a fit clip's frame at T against the source's at START + T: prints
      "PSNR BAND_MEAN SRC_MEAN BAND_GRAD SRC_GRAD": the PSNR (dB) of the
      picture (rows PY..PY+PH) against the source scaled by ffmpeg to
      1080 x PH; the mean luminance and the mean gradient (absolute
      difference to the right and below neighbours) of the bands above and
      below the picture, and of the same rows of the source's middle
      scaled by ffmpeg to cover the whole 1080x1920 output
  mediaout_check.py pane CLIP.mp4 SRC.mp4 T START Y0 H X Y CW CH
      prints the PSNR (dB) of rows Y0..Y0+H of the clip's 1080-wide frame
      at T against the source's window CW x CH at (X, Y) at START + T,
      scaled by ffmpeg to 1080 x H: a pane drawn from its window
  mediaout_check.py times TRANSCRIPT START END
      prints "WORD_T SILENT_T": clip times inside a spoken word and inside
      a pause of more than a second, for the caption checks
"""
import json, math, subprocess, sys


def ffprobe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of",
                          "json", path], check=True, capture_output=True)
    return json.loads(out.stdout)["streams"]


def frame(path, t, w=1080, h=1920, vf=None):
    out = subprocess.run(["ffmpeg", "-v", "error", "-ss", "%.3f" % t, "-i",
                          path, "-frames:v", "1"] +
                         (["-vf", vf] if vf else []) +
                         ["-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         check=True, capture_output=True).stdout
    assert len(out) == w * h, (path, t, len(out))
    return out


cmd = sys.argv[1]
if cmd == "probe":
    st = ffprobe(sys.argv[2])
    v = [s for s in st if s["codec_type"] == "video"][0]
    a = [s for s in st if s["codec_type"] == "audio"]
    num, den = map(int, v["r_frame_rate"].split("/"))
    vdur = int(v["nb_frames"]) * den / num
    clip = float(sys.argv[4]) - float(sys.argv[3])
    adiff = abs(float(a[0]["start_time"]) - float(v["start_time"])) if a else 99
    print(v["codec_name"], v["width"], v["height"],
          a[0]["codec_name"] if a else "none", "%.4f" % (vdur - clip),
          "%.4f" % adiff, v.get("sample_aspect_ratio", "1:1"))
elif cmd == "crops":
    for p in sys.argv[2:]:
        f = json.load(open(p))
        # version 2: a framing with a path per pane; version 1: one path
        for c in f["panes"] if "panes" in f else [f]:
            for t, x, y, cut, fx, fy in c["points"]:
                if not (0 <= x and x + c["crop_w"] <= c["src_w"] and
                        0 <= y and y + c["crop_h"] <= c["src_h"]):
                    print("outside at", p, t, x, y)
                    sys.exit(1)
elif cmd == "band":
    t = float(sys.argv[4])
    a, b = frame(sys.argv[2], t), frame(sys.argv[3], t)
    lo, hi = int(1920 * 0.60) * 1080, int(1920 * 0.82) * 1080
    n = sum(1 for i in range(lo, hi) if abs(a[i] - b[i]) > 48)
    print("%.3f" % (100.0 * n / (hi - lo)))
elif cmd == "capbox":
    t = float(sys.argv[4])
    a, b = frame(sys.argv[2], t), frame(sys.argv[3], t)
    rows, cols = [], set()
    for y in range(1920):
        xs = [x for x in range(1080)
              if abs(a[y * 1080 + x] - b[y * 1080 + x]) > 48]
        if len(xs) >= 4:
            rows.append(y)
            cols.update(xs)
    print(*(rows[0], rows[-1], min(cols), max(cols)) if rows else (-1,) * 4)
elif cmd == "face":
    t = float(sys.argv[3])
    best = None
    for line in open(sys.argv[2]):
        f = line.split()
        if best is None or abs(float(f[0]) - t) < abs(float(best[0]) - t):
            best = f
    if best is None or best[2] == "-":
        print(-1, -1)
    else:
        cy, h = int(best[2]), int(best[4])
        print(cy - h // 2, cy + h // 2)
elif cmd == "fit":
    clip, src, t, start, py, ph = sys.argv[2], sys.argv[3], \
        float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    W, H = 1080, 1920
    out = frame(clip, t)
    pic = frame(src, start + t, W, ph, "scale=%d:%d" % (W, ph))
    cover = frame(src, start + t, W, H,
                  "scale=%d:%d:force_original_aspect_ratio=increase,"
                  "crop=%d:%d" % (W, H, W, H))
    se = sum((out[py * W + i] - pic[i]) ** 2 for i in range(0, W * ph, 3))
    mse = se / len(range(0, W * ph, 3))
    psnr = 99.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)
    rows = [y for y in range(0, H - 1, 2)
            if y < py - 8 or y >= py + ph + 8]

    def stats(img):
        tot = grad = n = 0
        for y in rows:
            r, d = y * W, (y + 1) * W
            for x in range(0, W - 1, 2):
                v = img[r + x]
                tot += v
                grad += abs(v - img[r + x + 1]) + abs(v - img[d + x])
                n += 1
        return tot / n, grad / n
    bm, bg = stats(out)
    sm, sg = stats(cover)
    print("%.2f %.1f %.1f %.3f %.3f" % (psnr, bm, sm, bg, sg))
elif cmd == "pane":
    clip, src = sys.argv[2], sys.argv[3]
    t, start = float(sys.argv[4]), float(sys.argv[5])
    y0, h, x, y, cw, ch = map(int, sys.argv[6:12])
    out = frame(clip, t)
    pic = frame(src, start + t, 1080, h,
                "crop=%d:%d:%d:%d,scale=1080:%d" % (cw, ch, x, y, h))
    n = range(0, 1080 * h, 3)
    mse = sum((out[y0 * 1080 + i] - pic[i]) ** 2 for i in n) / len(n)
    print("%.2f" % (99.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)))
elif cmd == "times":
    tr = json.load(open(sys.argv[2]))
    s, e = float(sys.argv[3]), float(sys.argv[4])
    words = [w for seg in tr["segments"] for w in seg["words"]
             if w["start"] >= s and w["end"] <= e]
    word = max(words, key=lambda w: w["end"] - w["start"])
    gaps = [(b["start"] - a["end"], (a["end"] + b["start"]) / 2)
            for a, b in zip(words, words[1:]) if b["start"] - a["end"] > 1.0]
    print("%.3f %.3f" % ((word["start"] + word["end"]) / 2 - s,
                         max(gaps)[1] - s if gaps else -1))
