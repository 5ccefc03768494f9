"""Procedural demo signatures: pad strokes SigWeb makes itself (no research data).

Each demo writer is a seeded set of pen "gestures" (loops, waves, a flourish, a dot), so
two writers differ in shape while one writer's samples differ only by small jitter in
timing, amplitude, slant, position and scale, as a person's repeated signatures do. The
output is signature_pad's ``toData()`` format: ``[{"points": [{x, y, time, pressure}]}]``.

``ml.synthetic`` is the other generator in the project, on purpose: its writers are
random control-point curves sized for training a tiny network in a test, and it must not
import anything outside ``ml``. These demo writers are drawn to look like handwriting on a
600x200 pad, so that the shipped model accepts their own hand and rejects the others
(``benchmarks/api_latency.py`` checks that: 20 of 20 each way).
"""

from __future__ import annotations

import hashlib
import math
import random

CANVAS_W, CANVAS_H = 600, 200


def _writer_rng(writer: str) -> random.Random:
    return random.Random(int(hashlib.sha256(writer.encode()).hexdigest()[:16], 16))


def _writer_style(writer: str) -> dict:
    rng = _writer_rng(writer)
    n_strokes = rng.randint(2, 3)
    strokes = []
    for _ in range(n_strokes):
        strokes.append(
            {
                "loops": rng.randint(2, 5),
                "freq": rng.uniform(1.5, 3.5),
                "amp": rng.uniform(18, 45),
                "width": rng.uniform(90, 170),
                "rise": rng.uniform(-15, 15),
                "phase": rng.uniform(0, math.pi),
                "loopiness": rng.uniform(0.3, 1.0),
                "gap": rng.uniform(10, 30),
            }
        )
    return {
        "strokes": strokes,
        "slant": rng.uniform(-0.35, 0.25),
        "flourish": rng.random() < 0.7,
        "flourish_amp": rng.uniform(8, 25),
        "dot": rng.random() < 0.5,
    }


def demo_strokes(writer: str, sample: int, *, jitter: float = 1.0) -> list[dict]:
    """One signature of ``writer``; ``sample`` picks the jitter, ``jitter`` scales it."""
    style = _writer_style(writer)
    rng = random.Random(f"{writer}/{sample}")
    j = lambda scale: rng.gauss(0.0, scale * jitter)
    scale = 1.0 + j(0.04)
    slant = style["slant"] + j(0.03)
    x0, y0 = 60 + j(6), CANVAS_H / 2 + j(5)
    t = 0.0
    # nobody signs with the same timing twice: a tempo per sample and a speed wave per stroke
    # (its own random stream, so the drawn shapes are those of the fixed-tempo generator)
    trng = random.Random(f"{writer}/{sample}/timing")
    tempo, wave = 1.0 + trng.gauss(0, 0.08 * jitter), (0.4 + abs(trng.gauss(0, 0.15))) * min(jitter, 1.0)
    out = []
    x_cursor = x0
    for st in style["strokes"]:
        points = []
        n = 60 + st["loops"] * 12
        amp = st["amp"] * (1 + j(0.06))
        freq = st["freq"] * (1 + j(0.02))
        width = st["width"] * (1 + j(0.04))
        phase, cycles = trng.uniform(0, 2 * math.pi), trng.uniform(1.0, 2.5)  # this stroke's speed wave
        for i in range(n):
            u = i / (n - 1)
            angle = 2 * math.pi * freq * u * st["loops"] / 2 + st["phase"]
            x = x_cursor + width * u + st["loopiness"] * amp * 0.5 * math.cos(angle) + j(0.6)
            y = y0 + st["rise"] * u - amp * math.sin(angle) * (0.6 + 0.4 * math.sin(math.pi * u)) + j(0.6)
            x = x + slant * (y0 - y)
            t += (8 + abs(j(1.5))) * tempo * (1 + wave * math.sin(2 * math.pi * u * cycles + phase))
            points.append(
                {"x": round(x0 + (x - x0) * scale, 2), "y": round(y0 + (y - y0) * scale, 2), "time": int(t), "pressure": 0.5}
            )
        out.append({"points": points})
        x_cursor += width + st["gap"]
        t += 120
    if style["flourish"]:
        points = []
        for i in range(40):
            u = i / 39
            x = x0 - 10 + (x_cursor - x0 + 10) * u
            y = y0 + 45 + style["flourish_amp"] * math.sin(math.pi * u) * (1 + j(0.05)) + j(0.6)
            t += 6
            points.append(
                {"x": round(x0 + (x - x0) * scale, 2), "y": round(y0 + (y - y0) * scale, 2), "time": int(t), "pressure": 0.5}
            )
        out.append({"points": points})
    if style["dot"]:
        cx, cy = x0 + 40 + j(2), y0 - 55 + j(2)
        t += 100
        out.append(
            {
                "points": [
                    {"x": round(cx + k * 0.8, 2), "y": round(cy + k * 0.5, 2), "time": int(t + 5 * k), "pressure": 0.5}
                    for k in range(12)
                ]
            }
        )
    return out


DEMO_CUSTOMERS = [
    ("DEMO-0001", "Ada Lovelace"),
    ("DEMO-0002", "Alan Turing"),
    ("DEMO-0003", "Grace Hopper"),
    ("DEMO-0004", "Katherine Johnson"),
]
