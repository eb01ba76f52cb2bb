"""The fast parser shares an item repeated byte for byte (srkit.codec._fastparse.SHARE_MAX).

A report names the same concepts and units thousands of times: an item of at most
``SHARE_MAX`` bytes is parsed once per parse, and a later item with the same bytes and
the same kind of length (defined, or undefined with its delimiter) is the same light
item again. The conftest runs every test on both parsers.
"""

from __future__ import annotations

import struct
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srkit.codec import fastparse, load
from srkit.codec._fastparse import SHARE_MAX
from srkit.codec.light import FastParseError, LightDataset, LightSequence
from tests.conftest import DATA, skip_or_fail

CONTENT = 0x0040A730
UNITS = 0x004008EA
LONG_VRS = {b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC"}
ITEM = b"\xfe\xff\x00\xe0"
ITEM_END = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
SEQ_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
UNDEFINED = 0xFFFFFFFF


def element(tag: int, vr: bytes, value: bytes, *, implicit: bool = False) -> bytes:
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if implicit:
        return head + struct.pack("<I", len(value)) + value
    if vr in LONG_VRS:
        return head + vr + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + vr + struct.pack("<H", len(value)) + value


def item(body: bytes, defined: bool) -> bytes:
    if defined:
        return ITEM + struct.pack("<I", len(body)) + body
    return ITEM + struct.pack("<I", UNDEFINED) + body + ITEM_END


def sequence(tag: int, items: list[bytes], defined: bool, *, implicit: bool = False) -> bytes:
    body = b"".join(items)
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if not implicit:
        head += b"SQ\0\0"
    if defined:
        return head + struct.pack("<I", len(body)) + body
    return head + struct.pack("<I", UNDEFINED) + body + SEQ_END


def code(value: bytes, *, implicit: bool = False) -> bytes:
    return (
        element(0x00080100, b"SH", value, implicit=implicit)
        + element(0x00080102, b"SH", b"UCUM", implicit=implicit)
        + element(0x00080104, b"LO", value, implicit=implicit)
    )


def parse(body: bytes) -> list[LightDataset]:
    _light, parsed = fastparse.parse_file(body)
    return parsed[CONTENT]


def plain(value):
    if type(value) is LightSequence:
        return [plain(i) for i in value.items]
    if type(value) is LightDataset:
        return {tag: plain(elem) for tag, elem in value._dict.items()}
    return value.value


def test_repeated_items_are_one_object_and_read_as_they_are(parser):
    body = sequence(
        CONTENT,
        [
            item(code(b"mGy"), False),
            item(code(b"mGy"), False),
            item(code(b"s "), False),
            item(code(b"mGy"), True),
            item(code(b"mGy"), True),
            item(code(b"mGy"), False),
        ],
        False,
    )
    items = parse(body)
    assert [plain(i)[0x00080100] for i in items] == [b"mGy", b"mGy", b"s ", b"mGy", b"mGy", b"mGy"]
    assert items[0] is items[1] is items[5]
    assert items[2] is not items[0]
    assert items[3] is items[4]
    # the same elements with a defined length are another item (equal, not shared)
    assert items[3] is not items[0]
    assert plain(items[3]) == plain(items[0])


def test_nested_undefined_lengths_are_found_without_parsing(parser):
    measured = element(0x0040A30A, b"DS", b"12.5") + sequence(
        UNITS, [item(code(b"mGy"), False)], False
    )
    num = element(0x0040A040, b"CS", b"NUM ") + sequence(0x0040A300, [item(measured, False)], False)
    body = sequence(CONTENT, [item(num, False), item(num, False)], False)
    first, second = parse(body)
    assert first is second
    (value,) = first._dict[0x0040A300].items
    assert value._dict[0x0040A30A].value == b"12.5"
    assert plain(value._dict[UNITS].items[0])[0x00080104] == b"mGy"


def test_an_item_larger_than_share_max_is_parsed_each_time(parser):
    text = b"x" * (SHARE_MAX - 18)
    big = element(0x0040A160, b"UT", text)
    small = element(0x0040A160, b"UT", b"x" * (SHARE_MAX - 20))
    # the bytes after the item's tag and length: its elements and delimiter
    assert len(item(small, False)) - 8 == SHARE_MAX
    assert len(item(big, False)) - 8 == SHARE_MAX + 2
    items = parse(
        sequence(
            CONTENT,
            [item(big, False), item(big, False), item(small, False), item(small, False)],
            False,
        )
    )
    assert items[0] is not items[1]
    assert plain(items[0]) == plain(items[1]) == {0x0040A160: text}
    assert items[2] is items[3]


def test_implicit_vr_items_are_shared(parser):
    units = sequence(UNITS, [item(code(b"mm", implicit=True), False)], False, implicit=True)
    measured = element(0x0040A30A, b"DS", b"3 ", implicit=True) + units
    body = sequence(CONTENT, [item(measured, False)] * 3, False, implicit=True)
    items = parse(body)
    assert len(items) == 3
    assert items[0] is items[1] is items[2]
    assert plain(items[0]) == {0x0040A30A: b"3 ", UNITS: [plain(items[0]._dict[UNITS].items[0])]}
    assert items[0]._dict[UNITS].items[0]._dict[0x00080100].value == b"mm"


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda b: b[: -len(ITEM_END) - len(SEQ_END)], id="item-without-delimiter"),
        pytest.param(lambda b: b[:-3], id="delimiter-cut"),
    ],
)
def test_a_broken_repeated_item_is_still_refused(parser, cut):
    body = sequence(CONTENT, [item(code(b"mGy"), False)] * 2, False)
    with pytest.raises(FastParseError):
        parse(cut(body))


def test_a_stray_item_tag_inside_an_item_is_not_shared(parser):
    """An item or sequence delimiter where an element belongs is read as the parser
    reads it (here: kept as an element), never through the shortcut."""
    odd = code(b"mGy") + b"\xfe\xff\x00\xe0\x00\x00\x00\x00"
    items = parse(sequence(CONTENT, [item(odd, False), item(odd, False)], False))
    assert items[0] is not items[1]
    assert plain(items[0]) == plain(items[1])


CODES = st.sampled_from([b"mGy", b"s ", b"cm", b"mGy.cm"])


@st.composite
def content(draw):
    """A list of (encoded item, kind) with the plain value each must parse to."""
    out = []
    for _ in range(draw(st.integers(1, 8))):
        value = draw(CODES)
        defined = draw(st.booleans())
        if draw(st.booleans()):  # a code item
            out.append(
                (
                    item(code(value), defined),
                    defined,
                    {0x00080100: value, 0x00080102: b"UCUM", 0x00080104: value},
                )
            )
        else:  # a measured value holding a units code sequence
            number = draw(st.sampled_from([b"1 ", b"2.5 "]))
            inner = item(code(value), draw(st.booleans()))
            body = element(0x0040A30A, b"DS", number) + sequence(
                UNITS, [inner], draw(st.booleans())
            )
            out.append(
                (
                    item(body, defined),
                    defined,
                    {
                        0x0040A30A: number,
                        UNITS: [{0x00080100: value, 0x00080102: b"UCUM", 0x00080104: value}],
                    },
                )
            )
    return out


@settings(max_examples=150, deadline=None)
@given(content(), st.booleans())
def test_any_mix_of_items_parses_to_its_values_and_shares_exactly_the_equal_ones(
    parser, drawn, defined
):
    items = parse(sequence(CONTENT, [encoded for encoded, _, _ in drawn], defined))
    assert [plain(i) for i in items] == [value for _, _, value in drawn]
    for a, (bytes_a, _kind_a, _) in zip(items, drawn, strict=True):
        for b, (bytes_b, _kind_b, _) in zip(items, drawn, strict=True):
            # an equal encoding is the same kind of length and the same elements
            assert (a is b) == (bytes_a == bytes_b)


def test_a_real_rdsr_parses_each_distinct_item_once(parser):
    path = DATA / "rdsr" / "pyskindose_philips_allura_clarity_u601.dcm"
    if not path.exists():
        skip_or_fail(f"{path} is missing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load(path)
    assert loaded.fast
    places, objects = 0, set()

    def walk(items):
        nonlocal places
        for one in items:
            places += 1
            objects.add(id(one))
            for elem in one._dict.values():
                if type(elem) is LightSequence:
                    walk(elem.items)

    for items in loaded.sequences.values():
        walk(items)
    assert places == 6447
    assert len(objects) < places // 4
    units = [
        one._dict[UNITS].items[0]
        for one in _all(loaded.sequences[CONTENT])
        if UNITS in one._dict and one._dict[UNITS].items[0]._dict[0x00080100].value == b"mm"
    ]
    assert len(units) == 584  # millimetres, in one light item
    assert len({id(u) for u in units}) == 1


def _all(items):
    for one in items:
        yield one
        for elem in one._dict.values():
            if type(elem) is LightSequence:
                yield from _all(elem.items)
