#!/usr/bin/env python3
"""Test media for the select/frame/render tests: a talk track built from
the LibriVox recordings and their word alignments (so every word's time is
known), and its transcript.json / loudness.json in the transcribe stage's
format.  Usage: mediaout_fixture.py TESTDATA OUTDIR PERIODS
Writes OUTDIR/talk.wav, transcript.json, loudness.json, layout.json."""
import json, math, os, re, struct, sys, wave

data, out, periods = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = "librivox_sense_and_sensibility_01_austen_64kb-"
parts = [("0870", 1.2), ("0880", 2.0)]    # recording, silence after it
rate = 16000
pcm = bytearray()
segments = []
t = 0.0
for _ in range(periods):
    for name, gap in parts:
        with wave.open(os.path.join(data, base + name + ".wav")) as w:
            assert w.getframerate() == rate and w.getsampwidth() == 2
            frames = w.readframes(w.getnframes())
            dur = w.getnframes() / rate
        al = json.load(open(os.path.join(data, base + name + ".words.json")))
        words = []
        for x in al["w"]:
            if x["t"].startswith("<"):
                continue
            words.append({"word": re.sub(r"\(\d+\)$", "", x["t"]),
                          "start": round(t + x["b"], 3),
                          "end": round(t + x["b"] + x["d"], 3),
                          "confidence": x["p"]})
        words[-1]["word"] += "."
        segments.append({"start": words[0]["start"], "end": words[-1]["end"],
                         "text": " ".join(w["word"] for w in words),
                         "words": words})
        pcm += frames
        pcm += b"\0\0" * int(round(gap * rate))
        t += dur + gap
# Pad to a whole number of seconds of video.
total = math.ceil(t)
pcm += b"\0\0" * (total * rate - len(pcm) // 2)
with wave.open(os.path.join(out, "talk.wav"), "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(bytes(pcm))
json.dump({"version": 1, "backend": "pocketsphinx", "model": "en-us",
           "language": "en", "duration": total, "no_audio": False,
           "segments": segments},
          open(os.path.join(out, "transcript.json"), "w"))
# Loudness: dBFS of 0.1 s windows, as the transcribe stage measures it.
n = len(pcm) // 2
samples = struct.unpack("<%dh" % n, bytes(pcm))
db = []
for i in range(0, n, rate // 10):
    win = samples[i:i + rate // 10]
    rms = math.sqrt(sum(s * s for s in win) / max(1, len(win))) / 32768
    db.append(round(20 * math.log10(rms), 1) if rms > 1e-6 else -120.0)
json.dump({"interval": 0.1, "dbfs": db},
          open(os.path.join(out, "loudness.json"), "w"))
json.dump({"duration": total, "segments": [[s["start"], s["end"]] for s in segments]},
          open(os.path.join(out, "layout.json"), "w"))
print(total)
