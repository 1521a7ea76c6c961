"""Request parsing of `jinaclip serve`: every accepted spelling, every refusal by index."""

from __future__ import annotations

import base64

import pytest

from jinaclip.server.protocol import ImageRef, ServeError, TextInput, classify_inputs, parse_body

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_every_input_spelling_is_classified_in_order() -> None:
    encoded = base64.b64encode(PNG).decode()
    items = classify_inputs(
        [
            "bare text",
            {"text": "object text"},
            {"image": "https://example.org/a.png"},
            {"url": "http://example.org/b.png"},
            {"bytes": encoded},
            {"image": "data:image/png;base64," + encoded},
            {"image": base64.urlsafe_b64encode(PNG).decode().rstrip("=")},
        ]
    )
    assert items[:4] == [
        TextInput(0, "bare text"),
        TextInput(1, "object text"),
        ImageRef(2, url="https://example.org/a.png"),
        ImageRef(3, url="http://example.org/b.png"),
    ]
    assert [item.data for item in items[4:]] == [PNG, PNG, PNG]  # type: ignore[union-attr]


def test_all_malformed_inputs_are_reported_together_with_their_fields() -> None:
    with pytest.raises(ServeError) as info:
        classify_inputs(
            [
                {"text": "a", "image": "b"},
                {},
                {"text": 5},
                {"url": "ftp://example.org/a.png"},
                {"image": "not base64 at all!"},
                "fine",
            ]
        )
    error = info.value
    assert error.status_code == 422
    assert [e["field"] for e in error.body()["errors"]] == [
        "input.0",
        "input.1",
        "input.2.text",
        "input.3.url",
        "input.4.image",
    ]


def test_embedding_type_spellings_must_agree() -> None:
    body = parse_body({"model": "m", "input": ["a"], "encoding_type": "base64"})
    assert body.embedding_types() == "base64"
    both = parse_body(
        {"model": "m", "input": ["a"], "embedding_type": "float", "encoding_type": "binary"}
    )
    with pytest.raises(ServeError, match="disagree"):
        both.embedding_types()


def test_single_string_input_and_defaults() -> None:
    body = parse_body({"model": "m", "input": "just one"})
    assert body.inputs() == ["just one"]
    assert (body.normalized, body.truncate, body.embedding_types()) == (True, False, "float")


@pytest.mark.parametrize(
    ("payload", "field", "kind"),
    [
        ({"model": "m", "input": []}, "input", "too_short"),
        ({"input": ["a"]}, "model", "missing"),
        (
            {"model": "m", "input": ["a"], "embedding_type": "int4"},
            "embedding_type",
            "literal_error",
        ),
        ({"model": "m", "input": ["a"], "late_chunking": True}, "late_chunking", "extra_forbidden"),
    ],
)
def test_schema_violations_are_422_with_the_api_error_shape(
    payload: dict[str, object], field: str, kind: str
) -> None:
    with pytest.raises(ServeError) as info:
        parse_body(payload)
    body = info.value.body()
    assert info.value.status_code == 422
    assert any(e["field"].startswith(field) and e["type"] == kind for e in body["errors"]), body


def test_a_huge_input_is_not_echoed_back_in_full() -> None:
    with pytest.raises(ServeError) as info:
        classify_inputs([{"image": "!" * 100_000}])
    assert len(info.value.body()["errors"][0]["input"]) < 200
