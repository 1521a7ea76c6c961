"""Captioned pictures of coloured shapes, generated from a seed: the demo checkpoint's world.

The demo model is trained on these scenes (`scripts/train_demo_model.py`), measured on a
held-out set drawn with another seed (tests/demo), and shown off by `jinaclip demo`. Everything
is deterministic for a given seed, needs only Pillow, and draws a few hundred scenes per second.
A scene has one to three shapes of one kind and colour; a single shape also has a size and a
position. Captions come from templates with synonyms, so two captions of one scene are
paraphrases that share no fixed wording.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "diamond")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "purple": (150, 60, 190),
    "orange": (245, 140, 30),
}
SIZES: tuple[str, ...] = ("small", "large")
POSITIONS: tuple[str, ...] = ("left", "right", "top", "bottom", "center")
COUNTS: tuple[int, ...] = (1, 2, 3)
#: Muted backgrounds that no shape colour is confused with.
BACKGROUNDS: tuple[tuple[int, int, int], ...] = (
    (30, 30, 30),
    (70, 70, 75),
    (200, 200, 200),
    (235, 230, 220),
)

_SHAPE_WORDS: dict[str, tuple[tuple[str, str], ...]] = {
    # (singular, plural) spellings; the first is the canonical name.
    "circle": (("circle", "circles"), ("disc", "discs"), ("round dot", "round dots")),
    "square": (("square", "squares"), ("box", "boxes")),
    "triangle": (("triangle", "triangles"),),
    "star": (("star", "stars"), ("five-pointed star", "five-pointed stars")),
    "cross": (("cross", "crosses"), ("plus sign", "plus signs")),
    "diamond": (("diamond", "diamonds"), ("rhombus", "rhombuses")),
}
_COLOUR_WORDS: dict[str, tuple[str, ...]] = {
    "red": ("red", "scarlet"),
    "green": ("green",),
    "blue": ("blue",),
    "yellow": ("yellow", "golden"),
    "purple": ("purple", "violet"),
    "orange": ("orange",),
}
_SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("small", "little", "tiny"),
    "large": ("large", "big", "huge"),
}
_POSITION_WORDS: dict[str, tuple[str, ...]] = {
    "left": ("on the left", "on the left side", "to the left"),
    "right": ("on the right", "on the right side", "to the right"),
    "top": ("at the top", "near the top", "in the upper part"),
    "bottom": ("at the bottom", "near the bottom", "in the lower part"),
    "center": ("in the center", "in the middle", "centered"),
}
_COUNT_WORDS: dict[int, tuple[str, ...]] = {
    2: ("two", "a pair of", "2"),
    3: ("three", "3", "a trio of"),
}
_SINGLE_TEMPLATES: tuple[str, ...] = (
    "a {size} {colour} {shape} {position}",
    "a picture of a {size} {colour} {shape} {position}",
    "{position}, a {size} {colour} {shape}",
    "an image with one {size} {colour} {shape} {position}",
    "a {colour} {shape}, {size}, {position}",
    "there is a {size} {colour} {shape} {position}",
    # Partial descriptions, so short queries ("a red star") land near every matching picture.
    "a {colour} {shape}",
    "a {size} {colour} {shape}",
    "a {colour} {shape} {position}",
    "{colour} {shape}",
)
_MULTI_TEMPLATES: tuple[str, ...] = (
    "{count} {colour} {shapes}",
    "a picture of {count} {colour} {shapes}",
    "an image showing {count} {colour} {shapes}",
    "there are {count} {colour} {shapes}",
    "{count} {shapes}, all {colour}",
    "{colour} {shapes}",
    "some {colour} {shapes}",
)


@dataclass(frozen=True, slots=True)
class Scene:
    """What a picture shows; `size` and `position` describe a single shape only."""

    shape: str
    colour: str
    count: int = 1
    size: str = "large"
    position: str = "center"

    @property
    def key(self) -> tuple[str, str]:
        """The (colour, shape) pair a viewer names first; the demo's notion of a hit."""
        return (self.colour, self.shape)

    def describe(self) -> str:
        """The canonical caption: fixed wording, every attribute, no synonyms."""
        if self.count == 1:
            return f"a {self.size} {self.colour} {self.shape} {_POSITION_WORDS[self.position][0]}"
        return f"{_COUNT_WORDS[self.count][0]} {self.colour} {_SHAPE_WORDS[self.shape][0][1]}"


def random_scene(rng: random.Random, *, counts: Sequence[int] = COUNTS) -> Scene:
    """A uniformly drawn scene (count first, so single shapes keep their size and position)."""
    count = rng.choice(counts)
    return Scene(
        shape=rng.choice(SHAPES),
        colour=rng.choice(tuple(COLOURS)),
        count=count,
        size=rng.choice(SIZES) if count == 1 else "small",
        position=rng.choice(POSITIONS) if count == 1 else "center",
    )


def caption(scene: Scene, rng: random.Random) -> str:
    """One randomly worded caption: always colour and shape, often size, position or count."""
    colour = rng.choice(_COLOUR_WORDS[scene.colour])
    singular, plural = rng.choice(_SHAPE_WORDS[scene.shape])
    if scene.count == 1:
        return rng.choice(_SINGLE_TEMPLATES).format(
            size=rng.choice(_SIZE_WORDS[scene.size]),
            colour=colour,
            shape=singular,
            position=rng.choice(_POSITION_WORDS[scene.position]),
        )
    return rng.choice(_MULTI_TEMPLATES).format(
        count=rng.choice(_COUNT_WORDS[scene.count]), colour=colour, shapes=plural
    )


def paraphrases(scene: Scene, rng: random.Random, n: int = 2) -> list[str]:
    """`n` distinct captions of one scene (different templates or synonyms)."""
    found: list[str] = []
    for _ in range(200):
        text = caption(scene, rng)
        if text not in found:
            found.append(text)
        if len(found) == n:
            return found
    raise ValueError(f"{scene} has fewer than {n} distinct captions")


def vocabulary_corpus() -> Iterator[str]:
    """Every template and every synonym: the text the demo tokenizer is built from."""
    for template in (*_SINGLE_TEMPLATES, *_MULTI_TEMPLATES):
        yield re.sub(r"\{\w+\}", " ", template)
    for spellings in _SHAPE_WORDS.values():
        yield " ".join(word for pair in spellings for word in pair)
    for words in (*_COLOUR_WORDS.values(), *_SIZE_WORDS.values(), *_POSITION_WORDS.values()):
        yield " ".join(words)
    for count_words in _COUNT_WORDS.values():
        yield " ".join(count_words)


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if shape == "square":
        s = r * 0.85
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + r * 0.8, cy), (cx, cy + r), (cx - r * 0.8, cy)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r * 0.95, cy + r * 0.75), (cx - r * 0.95, cy + r * 0.75)]
    if shape == "star":
        points = []
        for i in range(10):
            radius = r if i % 2 == 0 else r * 0.45
            angle = -math.pi / 2 + i * math.pi / 5
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
        return points
    if shape == "cross":
        a, b = r, r * 0.33
        return [
            (cx - b, cy - a), (cx + b, cy - a), (cx + b, cy - b), (cx + a, cy - b),
            (cx + a, cy + b), (cx + b, cy + b), (cx + b, cy + a), (cx - b, cy + a),
            (cx - b, cy + b), (cx - a, cy + b), (cx - a, cy - b), (cx - b, cy - b),
        ]  # fmt: skip
    raise ValueError(f"unknown shape {shape!r}")


def _jitter(colour: tuple[int, int, int], rng: random.Random, amount: int) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, c + rng.randint(-amount, amount))) for c in colour)
    return (r, g, b)


def _centres(scene: Scene, rng: random.Random) -> tuple[list[tuple[float, float]], float]:
    """Shape centres and radius, in units of the image side."""
    if scene.count == 1:
        radius = rng.uniform(0.24, 0.3) if scene.size == "large" else rng.uniform(0.1, 0.13)
        off = 0.5 - radius - 0.04
        dx, dy = rng.uniform(-0.04, 0.04), rng.uniform(-0.04, 0.04)
        centre = {
            "left": (0.5 - off, 0.5 + dy),
            "right": (0.5 + off, 0.5 + dy),
            "top": (0.5 + dx, 0.5 - off),
            "bottom": (0.5 + dx, 0.5 + off),
            "center": (0.5 + dx, 0.5 + dy),
        }[scene.position]
        return [centre], radius
    radius = rng.uniform(0.12, 0.145)
    cells = [(col, row) for row in range(3) for col in range(3)]
    chosen = rng.sample(cells, scene.count)
    centres = [
        ((col + 0.5) / 3 + rng.uniform(-0.015, 0.015), (row + 0.5) / 3 + rng.uniform(-0.015, 0.015))
        for col, row in chosen
    ]
    return centres, radius


def render(scene: Scene, rng: random.Random, size: int = 128) -> Image.Image:
    """Draw the scene as an RGB image `size` pixels square (2x supersampled, so edges are soft)."""
    canvas = 2 * size
    background = _jitter(rng.choice(BACKGROUNDS), rng, 12)
    image = Image.new("RGB", (canvas, canvas), background)
    draw = ImageDraw.Draw(image)
    colour = _jitter(COLOURS[scene.colour], rng, 18)
    centres, radius = _centres(scene, rng)
    for cx, cy in centres:
        x, y, r = cx * canvas, cy * canvas, radius * canvas
        if scene.shape == "circle":
            draw.ellipse((x - r * 0.9, y - r * 0.9, x + r * 0.9, y + r * 0.9), fill=colour)
        else:
            draw.polygon(_polygon(scene.shape, x, y, r), fill=colour)
    return image.reduce(2)


@dataclass(frozen=True, slots=True)
class Example:
    """One rendered scene with its canonical caption and one paraphrased caption."""

    scene: Scene
    image: Image.Image
    caption: str
    paraphrase: str


def make_example(scene: Scene, rng: random.Random, size: int = 128) -> Example:
    first, second = paraphrases(scene, rng)
    return Example(scene, render(scene, rng, size), first, second)


def gallery(seed: int, *, size: int = 128, counts: Sequence[int] = (1,)) -> list[Example]:
    """One example for every (colour, shape) pair, other attributes drawn from `seed`.

    Every pair appears exactly once, so retrieving by caption is well posed: the right
    answer is the only picture of that colour and shape.
    """
    rng = random.Random(seed)
    examples = []
    for shape in SHAPES:
        for colour in COLOURS:
            count = rng.choice(counts)
            scene = Scene(
                shape=shape,
                colour=colour,
                count=count,
                size=rng.choice(SIZES) if count == 1 else "small",
                position=rng.choice(POSITIONS) if count == 1 else "center",
            )
            examples.append(make_example(scene, rng, size))
    return examples
