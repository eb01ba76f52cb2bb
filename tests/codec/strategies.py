"""Hypothesis strategies for SR documents."""

from __future__ import annotations

from hypothesis import strategies as st

from srkit.model import (
    Code,
    CodeContentItem,
    CompositeContentItem,
    ContainerContentItem,
    DateContentItem,
    DateTimeContentItem,
    Document,
    ImageContentItem,
    NumContentItem,
    Patient,
    PNameContentItem,
    ReferenceContentItem,
    Scoord3DContentItem,
    ScoordContentItem,
    Series,
    SopReference,
    Study,
    TcoordContentItem,
    TemplateId,
    TextContentItem,
    TimeContentItem,
    UidRefContentItem,
    WaveformContentItem,
)

RELATIONSHIPS = [
    "CONTAINS",
    "HAS PROPERTIES",
    "HAS OBS CONTEXT",
    "HAS ACQ CONTEXT",
    "INFERRED FROM",
    "SELECTED FROM",
    "HAS CONCEPT MOD",
]

uids = st.lists(st.integers(1, 10**6), min_size=3, max_size=6).map(
    lambda parts: "1.2." + ".".join(str(p) for p in parts)
)
_ascii = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="\\")
_text_chars = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\\", max_codepoint=0x2FFF
)
short_text = st.text(_text_chars, min_size=1, max_size=40).map(str.strip).filter(bool)
long_text = (
    st.text(
        st.characters(
            blacklist_categories=("Cs",), blacklist_characters="\x00", max_codepoint=0x2FFF
        ),
        min_size=1,
        max_size=200,
    )
    .map(lambda s: s.rstrip(" \x00"))
    .filter(bool)
)


@st.composite
def codes(draw):
    kind = draw(st.sampled_from(["short", "long", "urn"]))
    if kind == "short":
        value = draw(st.text(_ascii, min_size=1, max_size=16))
    elif kind == "long":
        value = draw(st.text(_ascii, min_size=17, max_size=40))
    else:
        value = "urn:oid:" + draw(uids)
    scheme = draw(st.sampled_from(["DCM", "SCT", "UCUM", "LN", "99TEST", "RADLEX"]))
    version = draw(st.none() | st.sampled_from(["1.4", "2024"]))
    return Code.make(value, scheme, draw(short_text), version)


decimal_strings = st.one_of(
    st.integers(-(10**9), 10**9).map(str),
    st.tuples(st.integers(-99999, 99999), st.integers(0, 9999)).map(lambda t: f"{t[0]}.{t[1]}"),
)
dates = st.dates().map(lambda d: d.strftime("%Y%m%d"))
times = st.times().map(lambda t: t.strftime("%H%M%S"))
f32 = st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)


def _common(draw, relationship):
    return {
        "relationship": relationship,
        "concept": draw(codes()),
        "observation_datetime": draw(st.none() | (dates.map(lambda d: d + "120000"))),
    }


@st.composite
def leaves(draw, relationship):
    common = _common(draw, relationship)
    kind = draw(st.integers(0, 12))
    sop = SopReference(sop_class_uid="1.2.840.10008.5.1.4.1.1.2", sop_instance_uid=draw(uids))
    if kind == 0:
        return TextContentItem(value=draw(long_text), **common)
    if kind == 1:
        return CodeContentItem(value=draw(codes()), **common)
    if kind == 2:
        if draw(st.booleans()):
            return NumContentItem(
                number=draw(decimal_strings),
                units=draw(codes()),
                float_value=draw(st.none() | st.floats(allow_nan=False, allow_infinity=False)),
                **common,
            )
        return NumContentItem(qualifier=draw(codes()), **common)
    if kind == 3:
        return DateContentItem(value=draw(dates), **common)
    if kind == 4:
        return TimeContentItem(value=draw(times), **common)
    if kind == 5:
        return DateTimeContentItem(value=draw(dates) + draw(times), **common)
    if kind == 6:
        return UidRefContentItem(value=draw(uids), **common)
    if kind == 7:
        name = draw(
            st.lists(
                # at most 64 characters a component group (PS3.5 Table 6.2-1, PN)
                short_text.map(lambda s: s.replace("^", "").replace("=", "")[:20].strip()),
                min_size=1,
                max_size=3,
            )
        )
        return PNameContentItem(value="^".join(n for n in name if n) or "Doe", **common)
    if kind == 8:
        return CompositeContentItem(referenced=sop, **common)
    if kind == 9:
        return ImageContentItem(
            referenced=sop,
            frames=draw(
                st.none() | st.lists(st.integers(1, 500), min_size=1, max_size=4).map(tuple)
            ),
            segments=draw(
                st.none() | st.lists(st.integers(1, 50), min_size=1, max_size=3).map(tuple)
            ),
            **common,
        )
    if kind == 10:
        return WaveformContentItem(
            referenced=sop,
            channels=draw(
                st.none() | st.lists(st.integers(0, 20), min_size=2, max_size=2).map(tuple)
            ),
            **common,
        )
    if kind == 11:
        n = draw(st.integers(1, 4))
        if draw(st.booleans()):
            return ScoordContentItem(
                graphic_type=draw(st.sampled_from(["POINT", "POLYLINE", "CIRCLE"])),
                data=tuple(draw(st.lists(f32, min_size=2 * n, max_size=2 * n))),
                **common,
            )
        return Scoord3DContentItem(
            graphic_type="POLYLINE",
            data=tuple(draw(st.lists(f32, min_size=3 * n, max_size=3 * n))),
            frame_of_reference_uid=draw(uids),
            **common,
        )
    which = draw(st.integers(0, 2))
    return TcoordContentItem(
        range_type=draw(st.sampled_from(["POINT", "SEGMENT", "MULTIPOINT"])),
        sample_positions=tuple(draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=4)))
        if which == 0
        else None,
        time_offsets=tuple(
            draw(st.lists(st.integers(0, 10**6).map(lambda x: x / 8), min_size=1, max_size=4))
        )
        if which == 1
        else None,
        datetimes=tuple(draw(st.lists(dates.map(lambda d: d + "101010"), min_size=1, max_size=3)))
        if which == 2
        else None,
        **common,
    )


def trees(depth=3):
    def container(children, relationship):
        return st.builds(
            lambda concept, cont, kids: ContainerContentItem(
                relationship=relationship, concept=concept, continuity=cont, children=tuple(kids)
            ),
            st.none() | codes(),
            st.sampled_from(["SEPARATE", "CONTINUOUS"]),
            children,
        )

    def children_at(level):
        rel = st.sampled_from(RELATIONSHIPS)
        if level == 0:
            return st.lists(rel.flatmap(leaves), max_size=4)
        return st.lists(
            rel.flatmap(lambda r: st.one_of(leaves(r), container(children_at(level - 1), r))),
            max_size=4,
        )

    return children_at(depth)


@st.composite
def documents(draw):
    children = list(draw(trees()))
    if children and draw(st.booleans()):
        children.append(ReferenceContentItem(relationship="INFERRED FROM", ref=(1, 1)))
    root = ContainerContentItem(
        concept=draw(codes()),
        continuity="SEPARATE",
        children=tuple(children),
        template=draw(st.none() | st.just(TemplateId(identifier="1500"))),
    )
    return Document(
        sop_class_uid="1.2.840.10008.5.1.4.1.1.88.34",
        sop_instance_uid=draw(uids),
        root=root,
        patient=Patient(
            name=draw(st.none() | st.just("Doe^Jane")), id=draw(st.none() | st.just("P1"))
        ),
        study=Study(instance_uid=draw(uids), date=draw(st.none() | dates)),
        series=Series(instance_uid=draw(uids), number="1"),
        specific_character_set="ISO_IR 192",
        completion_flag=draw(st.sampled_from(["PARTIAL", "COMPLETE"])),
        verification_flag="UNVERIFIED",
        content_date=draw(dates),
        content_time=draw(times),
        instance_number="1",
    )
