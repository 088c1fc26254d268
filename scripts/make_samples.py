"""Write benign synthetic sample media for the example run: a picture, an edited copy, a
rotated copy, a duplicate, other pictures, and a few bad files; and beside them, in
``telegram-export``, a small Telegram Desktop export in which the same picture is posted,
forwarded and sent through a bot. No real photos, ever."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from jikimi.demo.synthetic import photo_like
from jikimi.demo.telegram_export import write_demo_export


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    known = photo_like(1280, 720, seed=1)
    known.save(out / "known.jpg", quality=92)
    known.resize((640, 360)).save(out / "known-resized.jpg", quality=80)
    known.transpose(Image.Transpose.ROTATE_90).save(out / "known-rotated.png")
    (out / "nested").mkdir(exist_ok=True)
    known.save(out / "nested" / "known-copy.jpg", quality=92)
    for seed in range(2, 8):
        photo_like(1280, 720, seed=seed).save(out / f"other-{seed}.jpg", quality=90)
    (out / "empty.jpg").write_bytes(b"")
    (out / "notes.jpg").write_text("this is text, not a picture\n")
    data = (out / "other-2.jpg").read_bytes()
    (out / "truncated.jpg").write_bytes(data[: len(data) // 3])
    write_demo_export(out.with_name("telegram-export"))
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "samples"))
