"""Face-match threshold: true-match and false-match rates of dlib templates over a sweep of
distance thresholds, on the only face images this repository may use.

    python benchmarks/bench_faces.py [--lo 0.30] [--hi 0.70] [--step 0.025]

- Genuine (same person): skimage's astronaut (NASA, public domain) is the reference; its
  variants are crops, rescales (face side ~40 to ~400 px), JPEG recompressions, in-plane
  rotations, a horizontal flip, photometric changes, greyscale, blur, noise, occlusions and a
  paste into a larger benign synthetic background (jikimi.demo.synthetic.photo_like). A
  variant counts as matched when a face is detected AND its closest template is within the
  threshold; detection failures are reported separately.
- Impostor (other people): the 100 face crops of skimage's lfw_subset (25x25 grey, the other
  100 are non-faces and are not used), upsampled to 150/200/250 px on a grey benign background.
  Each detected crop is compared with the astronaut (closest face in the probe) and with every
  other detected crop (their top-scoring faces): "other vs other" pairs. The crops carry no
  identity labels and LFW repeats some people, so a close other-vs-other pair may be the same
  person; the closest pairs are listed.
- False detections: faces "found" on benign images without faces (skimage coffee and chelsea,
  photo_like at 1920x1080).

Matching is ``distance <= threshold`` as in jikimi.matching.faces.FaceIndex. Intervals are
exact (Clopper-Pearson) 95% binomial intervals; for 0 of n the one-sided rule of three (3/n) is
printed too. No network, no sexual imagery, no other photos of people.
"""

from __future__ import annotations

import argparse
import io
import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image, ImageEnhance, ImageFilter
from scipy.stats import beta

from jikimi.demo.synthetic import photo_like
from jikimi.model import MediaInfo
from jikimi.settings import Settings
from jikimi.signals.extractor import MediaInput
from jikimi.signals.faces import FaceExtractor, load

DLIB_CUSTOMARY = 0.6
LFW_SIDES = (150, 200, 250)
RESCALE_SIDES = (40, 50, 60, 80, 120, 200, 300, 400)
JPEG_QUALITIES = (95, 80, 60, 40, 30, 20)
ROTATIONS = (-30, -15, -10, -5, 5, 10, 15, 30)

Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Probe:
    group: str
    name: str
    detected: bool
    count: int
    side: int  # shorter side of the closest face's box, original pixels (0 if none)
    distance: float  # closest template to the reference (inf if none)


def media_input(rgb: np.ndarray) -> MediaInput:
    h, w = rgb.shape[:2]
    info = MediaInfo(media_type="image", mime="image/png", width=w, height=h, mode="RGB")
    return MediaInput(path=Path("memory.png"), data=b"", info=info, rgb=rgb)


def faces_of(ext: FaceExtractor, rgb: np.ndarray) -> tuple[list[Box], list[np.ndarray]]:
    finding = ext.extract([media_input(rgb)])[0]
    if finding.status != "ok":
        raise RuntimeError(f"faces extractor: {finding.status}: {finding.error}")
    faces = finding.value["faces"]
    boxes: list[Box] = [(f["box"][0], f["box"][1], f["box"][2], f["box"][3]) for f in faces]
    return boxes, list(finding.private["templates"])


# --- genuine variants ---------------------------------------------------------------------


def pil(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(rgb)


def arr(im: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(im.convert("RGB")))


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    pil(rgb).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return arr(Image.open(buf))


def scaled(rgb: np.ndarray, factor: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return arr(pil(rgb).resize(size, Image.Resampling.LANCZOS))


def gamma(rgb: np.ndarray, g: float) -> np.ndarray:
    return (255.0 * (rgb / 255.0) ** g).round().astype(np.uint8)


def noisy(rgb: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, sigma, rgb.shape)
    return np.clip(rgb + noise, 0, 255).astype(np.uint8)


def occluded(
    rgb: np.ndarray, box: Box, rows: tuple[float, float], cols: tuple[float, float]
) -> np.ndarray:
    """A black patch over the face box, rows and columns as fractions of the box (may exceed
    [0, 1] to cover past the box)."""
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    out = rgb.copy()
    y0, y1 = top + round(rows[0] * h), top + round(rows[1] * h)
    x0, x1 = left + round(cols[0] * w), left + round(cols[1] * w)
    out[max(0, y0) : y1, max(0, x0) : x1] = 0
    return out


def crop(
    rgb: np.ndarray, box: Box, margin: float, shift: tuple[float, float] = (0, 0)
) -> np.ndarray:
    """A square crop around the face box: ``margin`` box sides on each side, the centre moved
    by ``shift`` box sides."""
    left, top, right, bottom = box
    side = right - left
    cx = (left + right) / 2 + shift[0] * side
    cy = (top + bottom) / 2 + shift[1] * side
    half = side * (0.5 + margin)
    h, w = rgb.shape[:2]
    x0, y0 = max(0, round(cx - half)), max(0, round(cy - half))
    x1, y1 = min(w, round(cx + half)), min(h, round(cy + half))
    return np.ascontiguousarray(rgb[y0:y1, x0:x1])


def pasted(
    rgb: np.ndarray, box: Box, size: tuple[int, int], at: tuple[int, int], seed: int
) -> np.ndarray:
    canvas = arr(photo_like(*size, seed=seed)).copy()
    part = crop(rgb, box, margin=1.0)
    x, y = at
    canvas[y : y + part.shape[0], x : x + part.shape[1]] = part
    return canvas


def genuine_variants(rgb: np.ndarray, box: Box) -> Iterator[tuple[str, str, np.ndarray]]:
    side = box[2] - box[0]
    yield "crop", "tight (face box + 10%)", crop(rgb, box, 0.1)
    yield "crop", "loose (face box + 100%)", crop(rgb, box, 1.0)
    yield "crop", "off-centre (face in a corner)", crop(rgb, box, 1.0, (0.8, 0.8))
    yield "crop", "off-centre, face cut at the edge", crop(rgb, box, 0.5, (0.85, 0.0))
    for target in RESCALE_SIDES:
        yield "rescale", f"face ~{target} px", scaled(rgb, target / side)
    for q in JPEG_QUALITIES:
        yield "jpeg", f"quality {q}", jpeg(rgb, q)
    for angle in ROTATIONS:
        rotated = pil(rgb).rotate(angle, Image.Resampling.BICUBIC, fillcolor=(128, 128, 128))
        yield "rotation", f"{angle:+d} deg", arr(rotated)
    yield "flip", "horizontal", np.ascontiguousarray(rgb[:, ::-1])
    yield "photometric", "brightness x0.5", arr(ImageEnhance.Brightness(pil(rgb)).enhance(0.5))
    yield "photometric", "brightness x1.5", arr(ImageEnhance.Brightness(pil(rgb)).enhance(1.5))
    yield "photometric", "contrast x0.5", arr(ImageEnhance.Contrast(pil(rgb)).enhance(0.5))
    yield "photometric", "contrast x1.6", arr(ImageEnhance.Contrast(pil(rgb)).enhance(1.6))
    yield "photometric", "gamma 0.5", gamma(rgb, 0.5)
    yield "photometric", "gamma 2.0", gamma(rgb, 2.0)
    yield "photometric", "greyscale", arr(pil(rgb).convert("L"))
    for radius in (1, 2, 3, 5):
        yield (
            "blur",
            f"gaussian radius {radius}",
            arr(pil(rgb).filter(ImageFilter.GaussianBlur(radius))),
        )
    for sigma in (8, 20, 40):
        yield "noise", f"gaussian sigma {sigma}", noisy(rgb, sigma, seed=sigma)
    # Black patches, rows and columns as fractions of the face box.
    yield "occlusion", "bar over the eyes", occluded(rgb, box, (0.15, 0.45), (-0.1, 1.1))
    yield "occlusion", "patch over one eye", occluded(rgb, box, (0.2, 0.42), (0.05, 0.5))
    yield "occlusion", "bar over the mouth", occluded(rgb, box, (0.62, 0.92), (-0.1, 1.1))
    yield "occlusion", "small patch over the mouth", occluded(rgb, box, (0.7, 0.95), (0.25, 0.75))
    yield "occlusion", "corner patch, lower right 40%", occluded(rgb, box, (0.6, 1.1), (0.6, 1.1))
    yield "occlusion", "corner patch, lower right 30%", occluded(rgb, box, (0.7, 1.1), (0.7, 1.1))
    yield "occlusion", "corner patch, lower left (jaw)", occluded(rgb, box, (0.6, 1.1), (-0.1, 0.3))
    yield (
        "occlusion",
        "corner patch, upper left (brow)",
        occluded(rgb, box, (-0.2, 0.25), (-0.2, 0.3)),
    )
    yield "paste", "into photo_like 1600x1000", pasted(rgb, box, (1600, 1000), (900, 400), 7)
    small = scaled(rgb, 0.6)
    left, top, right, bottom = box
    small_box = (round(left * 0.6), round(top * 0.6), round(right * 0.6), round(bottom * 0.6))
    yield (
        "paste",
        "0.6x into photo_like 1920x1080",
        pasted(small, small_box, (1920, 1080), (300, 600), 8),
    )
    yield "combined", "face ~60 px + JPEG 50", jpeg(scaled(rgb, 60 / side), 50)
    yield "combined", "greyscale + JPEG 40", jpeg(arr(pil(rgb).convert("L")), 40)
    yield (
        "combined",
        "rotation +10 + blur 2 + JPEG 60",
        jpeg(
            arr(
                pil(rgb)
                .rotate(10, Image.Resampling.BICUBIC, fillcolor=(128, 128, 128))
                .filter(ImageFilter.GaussianBlur(2))
            ),
            60,
        ),
    )


# --- impostors ------------------------------------------------------------------------------


def lfw_probe(grey: np.ndarray, side: int, seed: int) -> np.ndarray:
    """A 25x25 lfw crop upsampled to ``side`` px (bicubic) in the middle of a grey benign
    background twice its size (a greyscale photo_like), so the HOG window sees a margin."""
    face = Image.fromarray((grey * 255).round().astype(np.uint8)).resize(
        (side, side), Image.Resampling.BICUBIC
    )
    canvas = photo_like(2 * side, 2 * side, seed=seed).convert("L")
    canvas.paste(face, (side // 2, side // 2))
    return arr(canvas)


def degraded_like_lfw(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The astronaut through the impostors' pipeline: a tight grey crop down to 25x25, then
    upsampled as the lfw crops are (a control for how much that alone moves a template)."""
    tight = pil(crop(rgb, box, 0.15)).convert("L").resize((25, 25), Image.Resampling.LANCZOS)
    return lfw_probe(np.asarray(tight) / 255.0, 200, seed=999)


# --- statistics -----------------------------------------------------------------------------


def interval(k: int, n: int) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided 95% interval of a binomial proportion."""
    if n == 0:
        return (math.nan, math.nan)
    lo = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return lo, hi


def pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}%" if n else "n/a"


def grid(lo: float, hi: float, step: float) -> list[float]:
    count = round((hi - lo) / step)
    return [round(lo + i * step, 4) for i in range(count + 1)]


# --- main -----------------------------------------------------------------------------------


def closest(ref: np.ndarray, templates: list[np.ndarray]) -> tuple[int, float]:
    dists = [float(np.linalg.norm(t - ref)) for t in templates]
    i = int(np.argmin(dists))
    return i, dists[i]


def measure(ext: FaceExtractor, group: str, name: str, rgb: np.ndarray, ref: np.ndarray) -> Probe:
    boxes, templates = faces_of(ext, rgb)
    if not templates:
        return Probe(group, name, False, 0, 0, math.inf)
    i, dist = closest(ref, templates)
    b = boxes[i]
    return Probe(group, name, True, len(templates), min(b[2] - b[0], b[3] - b[1]), dist)


@dataclass(frozen=True, slots=True)
class Impostor:
    index: int  # in lfw_subset
    side: int  # upsampled face side, px
    top: np.ndarray  # template of the top-scoring face
    templates: list[np.ndarray]


def lfw_impostors(ext: FaceExtractor) -> tuple[list[Impostor], int]:
    """Templates of the lfw_subset faces the detector finds, and how many were tried. Only the
    first 100 images are faces; the last 100 (non-faces) are not used."""
    faces = skimage.data.lfw_subset()[:100]
    found = []
    for i, grey in enumerate(faces):
        side = LFW_SIDES[i % len(LFW_SIDES)]
        _, templates = faces_of(ext, lfw_probe(grey, side, seed=1000 + i))
        if templates:
            found.append(Impostor(i, side, templates[0], templates))
    return found, len(faces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lo", type=float, default=0.30)
    parser.add_argument("--hi", type=float, default=0.70)
    parser.add_argument("--step", type=float, default=0.025)
    args = parser.parse_args()

    ext = load(Settings())
    print(f"faces extractor: upsample {ext.upsample}, min score {ext.min_score}")
    astronaut = skimage.data.astronaut()
    boxes, templates = faces_of(ext, astronaut)
    if len(templates) != 1:
        raise SystemExit(f"expected one face on the astronaut, found {len(templates)}")
    ref_box, reference = boxes[0], templates[0]
    print(f"reference: astronaut 512x512, face box {list(ref_box)}")

    start = time.perf_counter()
    genuine = [
        measure(ext, g, n, im, reference) for g, n, im in genuine_variants(astronaut, ref_box)
    ]
    degraded = degraded_like_lfw(astronaut, ref_box)
    control = measure(ext, "control", "astronaut via the lfw pipeline", degraded, reference)
    _, degraded_templates = faces_of(ext, degraded)
    found, tried = lfw_impostors(ext)
    benign = {
        "coffee": skimage.data.coffee(),
        "chelsea (cat)": skimage.data.chelsea(),
        **{f"photo_like 1920x1080 seed {s}": arr(photo_like(1920, 1080, seed=s)) for s in range(5)},
    }
    false_det = {name: len(faces_of(ext, im)[1]) for name, im in benign.items()}
    print(f"[{time.perf_counter() - start:.1f} s]")

    vs_astronaut = np.array([closest(reference, f.templates)[1] for f in found])
    # The astronaut through the impostors' own pipeline (grey, 25 px, upsampled), so the two
    # sides of the comparison are equally degraded.
    vs_degraded = (
        np.array([closest(degraded_templates[0], f.templates)[1] for f in found])
        if degraded_templates
        else np.array([math.inf])
    )
    pairs = list(itertools.combinations(found, 2))
    vs_other = np.array([float(np.linalg.norm(a.top - b.top)) for a, b in pairs])

    # ------------------------------------------------------------------ report
    n_gen = len(genuine)
    detected = [p for p in genuine if p.detected]
    n_undetected = n_gen - len(detected)
    print(f"\n## Genuine: {n_gen} astronaut variants vs the original; {len(detected)} detected")
    print("| group | variant | faces | face side px | distance |\n|---|---|---:|---:|---:|")
    for p in [*genuine, control]:
        dist = f"{p.distance:.3f}" if p.detected else "not detected"
        print(f"| {p.group} | {p.name} | {p.count} | {p.side or '-'} | {dist} |")
    print("(the control row is not counted in the rates)")

    sides = ", ".join(
        f"{sum(f.side == s for f in found)}/{sum(LFW_SIDES[i % 3] == s for i in range(tried))} "
        f"at {s} px"
        for s in LFW_SIDES
    )
    print(f"\n## Impostors: lfw_subset faces detected {len(found)} of {tried} ({sides})")
    for label, d in (
        ("vs astronaut", vs_astronaut),
        ("vs astronaut via the lfw pipeline", vs_degraded),
        ("other vs other", vs_other),
    ):
        print(
            f"{label}: {len(d)} comparisons, min {d.min():.3f}, 5th percentile "
            f"{np.percentile(d, 5):.3f}, median {np.median(d):.3f}"
        )
    order = np.argsort(vs_other)[:8]
    print(
        "closest other-vs-other pairs (lfw_subset indices: distance): "
        + ", ".join(f"{pairs[k][0].index}-{pairs[k][1].index}: {vs_other[k]:.3f}" for k in order)
    )
    print(
        "false detections on benign images without faces: "
        + ", ".join(f"{k}: {v}" for k, v in false_det.items())
    )

    gen_d = np.array([p.distance for p in genuine])
    det_d = np.array([p.distance for p in detected])
    n_imp = len(vs_astronaut) + len(vs_other)
    print(
        f"\n## Sweep (match = distance <= t; genuine n={n_gen}, {n_undetected} of them not "
        "detected at all)"
    )
    print(
        "| t | true-match | detected but too far | FM vs astronaut | FM vs astronaut via lfw "
        "pipeline | FM other vs other | FMR (astronaut + other) | 95% upper |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = []
    for t in grid(args.lo, args.hi, args.step):
        tm = int((gen_d <= t).sum())
        fa, fd = int((vs_astronaut <= t).sum()), int((vs_degraded <= t).sum())
        fo = int((vs_other <= t).sum())
        rows.append((t, tm, fa, fd, fo))
        print(
            f"| {t:.3f} | {tm}/{n_gen} ({pct(tm, n_gen)}) | {len(detected) - tm} "
            f"| {fa}/{len(vs_astronaut)} | {fd}/{len(vs_degraded)} | {fo}/{len(vs_other)} "
            f"| {pct(fa + fo, n_imp)} | {100 * interval(fa + fo, n_imp)[1]:.2f}% |"
        )

    # Equal-error region: detected genuine comparisons against all impostor comparisons.
    imp = np.concatenate([vs_astronaut, vs_other])
    fnmr = [float((det_d > t).mean()) for t, *_ in rows]
    fmr = [float((imp <= t).mean()) for t, *_ in rows]
    cross = next((k for k in range(len(rows)) if fnmr[k] <= fmr[k]), None)
    if cross is not None and cross > 0:
        print(
            f"\nequal-error region (detected genuine vs all impostors): between t="
            f"{rows[cross - 1][0]:.3f} (FNMR {100 * fnmr[cross - 1]:.1f}%, FMR "
            f"{100 * fmr[cross - 1]:.2f}%) and t={rows[cross][0]:.3f} (FNMR "
            f"{100 * fnmr[cross]:.1f}%, FMR {100 * fmr[cross]:.2f}%)"
        )
    print(
        f"largest detected-genuine distance {det_d.max():.3f}; smallest impostor distance: "
        f"vs astronaut {vs_astronaut.min():.3f}, vs astronaut via the lfw pipeline "
        f"{vs_degraded.min():.3f}, other vs other {vs_other.min():.3f}"
    )

    # The choice: dlib's 0.6 if nothing false-matches there; otherwise the largest swept
    # threshold at which no impostor matches the protected person, in good quality (the
    # astronaut) or equally degraded (the astronaut via the lfw pipeline). Other-vs-other
    # pairs are reported, not used: they carry no identity labels and LFW repeats people.
    zero_all = [t for t, _, fa, fd, fo in rows if fa + fd + fo == 0]
    zero_person = [t for t, _, fa, fd, _ in rows if fa + fd == 0]
    if zero_all and max(zero_all) >= DLIB_CUSTOMARY:
        chosen = DLIB_CUSTOMARY
    elif zero_person:
        chosen = min(max(zero_person), DLIB_CUSTOMARY)
    else:
        print("\nno swept threshold keeps every impostor away from the astronaut; choose by hand")
        return
    t, tm, fa, fd, fo = next(r for r in rows if r[0] == chosen)
    print(
        f"\nsummary: chosen t={chosen:.3f} (0 false matches overall up to "
        f"{max(zero_all, default=float('nan')):.3f}; against the protected person up to "
        f"{max(zero_person):.3f}; dlib's customary {DLIB_CUSTOMARY}): true-match {tm}/{n_gen} "
        f"({pct(tm, n_gen)}; {n_undetected} not detected, {len(detected) - tm} detected but too "
        f"far); control {control.distance:.3f} "
        f"({'matched' if control.distance <= chosen else 'missed'}); false-match vs astronaut "
        f"{fa}/{len(vs_astronaut)} and {fd}/{len(vs_degraded)} via the lfw pipeline (rule of "
        f"three: <= {100 * 3 / len(vs_astronaut):.1f}% each), other vs other "
        f"{fo}/{len(vs_other)} ({pct(fo, len(vs_other))}, 95% CI "
        f"{100 * interval(fo, len(vs_other))[0]:.2f}-{100 * interval(fo, len(vs_other))[1]:.2f}%); "
        f"false detections {sum(false_det.values())} on {len(false_det)} benign images"
    )


if __name__ == "__main__":
    main()
