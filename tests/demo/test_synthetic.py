"""The synthetic world the demo model is trained and measured on."""

from __future__ import annotations

import random

import numpy as np
import pytest

from jinaclip.demo import synthetic
from jinaclip.demo.synthetic import Scene


def test_same_seed_draws_identical_pictures_and_captions() -> None:
    first, second = synthetic.gallery(3), synthetic.gallery(3)
    assert [e.caption for e in first] == [e.caption for e in second]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(np.asarray(a.image), np.asarray(b.image))
    assert [e.caption for e in synthetic.gallery(4)] != [e.caption for e in first]


def test_gallery_holds_every_colour_and_shape_exactly_once() -> None:
    gallery = synthetic.gallery(1, counts=synthetic.COUNTS)
    keys = [example.scene.key for example in gallery]
    assert sorted(keys) == sorted(
        (colour, shape) for colour in synthetic.COLOURS for shape in synthetic.SHAPES
    )
    assert {example.scene.count for example in gallery} == {1, 2, 3}


def test_render_draws_the_shape_colour_on_a_muted_background() -> None:
    scene = Scene("square", "red", 1, "large", "center")
    image = synthetic.render(scene, random.Random(0), size=64)
    assert image.size == (64, 64)
    assert image.mode == "RGB"
    r, g, b = image.getpixel((32, 32))
    assert r > 180
    assert g < 80
    assert b < 80
    corner = image.getpixel((1, 1))
    assert any(
        all(abs(c - b) <= 12 for c, b in zip(corner, background, strict=True))
        for background in synthetic.BACKGROUNDS
    )


@pytest.mark.parametrize(
    ("position", "region"),
    [("left", (0, 20, 64)), ("right", (44, 64, 64)), ("top", (0, 64, 20))],
)
def test_a_single_shape_sits_where_its_caption_says(
    position: str, region: tuple[int, int, int]
) -> None:
    scene = Scene("circle", "blue", 1, "small", position)
    pixels = np.asarray(synthetic.render(scene, random.Random(1), size=64)).astype(int)
    blue = (pixels[..., 2] > 150) & (pixels[..., 0] < 100)
    ys, xs = np.nonzero(blue)
    x0, x1, y1 = region
    if position == "top":
        assert ys.max() < y1
    else:
        assert x0 <= xs.min()
        assert xs.max() < x1


def test_paraphrases_name_the_same_scene_in_different_words() -> None:
    scene = Scene("diamond", "purple", 2)
    first, second = synthetic.paraphrases(scene, random.Random(5))
    assert first != second
    for text in (first, second):
        assert any(word in text for word in ("purple", "violet"))
        assert any(word in text for word in ("diamond", "rhombus"))


def test_canonical_description_names_every_attribute() -> None:
    assert Scene("star", "red", 1, "small", "left").describe() == "a small red star on the left"
    assert Scene("cross", "green", 3).describe() == "three green crosses"


def test_vocabulary_corpus_covers_every_word_captions_use() -> None:
    corpus_words = {w.strip(",") for line in synthetic.vocabulary_corpus() for w in line.split()}
    rng = random.Random(0)
    for _ in range(300):
        text = synthetic.caption(synthetic.random_scene(rng), rng)
        assert {w.strip(",") for w in text.split()} <= corpus_words, text
