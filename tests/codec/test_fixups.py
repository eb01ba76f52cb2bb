"""One fix-up registry: every name a diagnostic can carry is registered, with a real
file that needs it and a test; the registration API itself."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

import srkit
import srkit.templates.vendor as vendor
from srkit import read
from srkit.codec.fixups import FIXUPS, Fixup, fixup, register
from srkit.templates.dose import dose_report
from tests.conftest import data_path

SRC = Path(srkit.__file__).resolve().parent
TESTS = Path(__file__).resolve().parents[1]

DYNAMIC_SITES = {
    (
        "templates/dose_common.py",
        "_record_key",
    ): "f'{maker}_private_concepts', used only when it is "
    "in vendor.FIXUPS, else the literal 'private_report_content'",
    ("templates/dose_common.py", "key"): "the fixup= of the _Repair _record_key made "
    "(scanned there)",
    ("templates/dose_common.py", "ucum"): "the names of the makers' UNIT_SPELLINGS tables, "
    "checked by test_unit_spelling_fixups_are_registered",
}
"""Places that pass a fix-up name computed at run time, and where the names come from."""


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(path)


def _fixup_names_in_code() -> tuple[dict[str, list[str]], set[tuple[str, str]]]:
    """(literal fix-up name -> places, dynamic (file, function) sites) in src/srkit.

    A fix-up name is whatever a ``fixup=`` keyword of any call (``Diagnostic``,
    ``problem``) or the second argument of a ``repaired(path, name, message)`` call
    is given. A parameter of the enclosing function passed on is not a source of names
    (its callers are scanned); anything else computed is a dynamic site.
    """
    literal: dict[str, list[str]] = {}
    dynamic: set[tuple[str, str]] = set()

    class Scan(ast.NodeVisitor):
        def __init__(self, rel: str) -> None:
            self.rel = rel
            self.stack: list[tuple[str, set[str]]] = [("<module>", set())]

        def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
            a = node.args
            params = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]}
            self.stack.append((node.name, params))
            self.generic_visit(node)
            self.stack.pop()

        visit_AsyncFunctionDef = visit_FunctionDef

        def classify(self, node: ast.expr) -> None:
            where, params = self.stack[-1]
            if isinstance(node, ast.Constant):
                if node.value is not None:
                    literal.setdefault(str(node.value), []).append(f"{self.rel}:{node.lineno}")
            elif isinstance(node, ast.IfExp):
                self.classify(node.body)
                self.classify(node.orelse)
            elif not (isinstance(node, ast.Name) and node.id in params):
                dynamic.add((self.rel, where))  # a parameter is passed on: callers scanned

        def visit_Call(self, node: ast.Call) -> None:
            for kw in node.keywords:
                if kw.arg == "fixup":
                    self.classify(kw.value)
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name == "repaired" and len(node.args) >= 2:
                self.classify(node.args[1])
            self.generic_visit(node)

    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        Scan(rel).visit(ast.parse(path.read_text(encoding="utf-8")))
    return literal, dynamic


def test_every_fixup_name_used_in_the_code_is_registered():
    literal, dynamic = _fixup_names_in_code()
    # the scan finds the fix-ups of both layers
    assert {"trial_findings_sequence", "assume_latin1_charset"} <= literal.keys()
    assert {"ge_enhanced_sr_dose_report", "empty_text_value", "wrong_code_meaning"} <= set(literal)
    unregistered = {name: at for name, at in literal.items() if name not in FIXUPS}
    assert unregistered == {}
    assert dynamic <= DYNAMIC_SITES.keys(), (
        "fix-up names computed at run time in a new place: register them and add the "
        f"place to DYNAMIC_SITES with a test: {sorted(dynamic - DYNAMIC_SITES.keys())}"
    )


def test_unit_spelling_fixups_are_registered():
    names = {name for table in vendor.UNIT_SPELLINGS.values() for _, name in table.values()}
    assert names == {"ge_unit_spelling", "ge_unbraced_annotation", "siemens_unit_spelling"}
    assert names <= FIXUPS.keys()
    for prefix in set(vendor.PRIVATE_SCHEME_PREFIXES.values()):
        name = f"{prefix}_private_concepts"
        assert name not in vendor.FIXUPS or name in FIXUPS


def test_vendor_fixups_are_in_the_one_registry():
    assert set(vendor.FIXUPS) <= FIXUPS.keys()
    assert {FIXUPS[n].maker for n in vendor.FIXUPS} == {"ge", "siemens", "toshiba", "philips"}
    assert FIXUPS["trial_findings_sequence"].maker is None
    assert FIXUPS["assume_latin1_charset"].maker is None


@pytest.mark.parametrize("name", sorted(FIXUPS))
def test_every_fixup_has_a_description_a_real_file_and_a_test(name):
    record = FIXUPS[name]
    assert record.name == name
    assert len(record.description) > 40
    assert data_path(record.example).is_file()
    here = Path(__file__).resolve()
    tested = [
        p
        for p in TESTS.rglob("test_*.py")
        if p.resolve() != here and name in p.read_text(encoding="utf-8")
    ]
    tested += [here] if name in _OWN_TESTS else []
    assert tested, f"no test names fix-up {name}"


_OWN_TESTS = {
    "assume_latin1_charset",
    "empty_text_value",
    "empty_image_reference",
    "siemens_dual_source",
}
"""Fix-ups tested in this module (below) rather than in the tests of their layer."""


def test_decorator_registers_the_function_with_its_docstring():
    record = FIXUPS["trial_findings_sequence"]
    assert record.description.startswith(
        "Retired trial SR classes keep their content in Findings Sequence (Trial) (0040,A020)"
    )
    assert record.description.endswith("the value attribute they carry.")
    assert record.example == "sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm"


def test_register_refuses_a_second_meaning_for_a_name():
    known = FIXUPS["assume_latin1_charset"]
    assert register(known) is known  # registering the same record again is harmless
    with pytest.raises(ValueError, match="already registered"):
        register(Fixup("assume_latin1_charset", "something else entirely, " * 3, known.example))
    with pytest.raises(ValueError, match="needs a name, a description and an example"):
        register(Fixup("no_example_fixup", "a repair nobody can reproduce", ""))
    with pytest.raises(ValueError, match="the docstring must name the file"):

        @fixup("undocumented_fixup", example=known.example)
        def undocumented() -> None:
            pass

    with pytest.raises(ValueError, match="the docstring must name the file"):

        @fixup("unsourced_fixup", example=known.example)
        def unsourced() -> None:
            """Repairs something in some file or other."""

    assert "no_example_fixup" not in FIXUPS
    assert "unsourced_fixup" not in FIXUPS
    assert "undocumented_fixup" not in FIXUPS
    assert FIXUPS["assume_latin1_charset"] is known


# -- the fix-ups that had no test of their own ---------------------------------------


def test_assume_latin1_charset():
    doc = _read(data_path("rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"))
    assert doc.specific_character_set is None
    fixed = [d for d in doc.diagnostics if d.fixup == "assume_latin1_charset"]
    assert [(d.path, d.code, d.severity.value) for d in fixed] == [
        ("", "charset-undeclared-8bit", "WARNING")
    ]
    assert doc.study.referring_physician_name == "Müller\\Smith"  # 0xFC read as Latin-1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strict = read(data_path("rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"), policy="strict")
    assert strict.study.referring_physician_name == "Müller\\Smith"  # a fix-up, not an error


def test_empty_text_value_and_empty_image_reference():
    report = dose_report(_read(data_path("rdsr/pyskindose_philips_allura_clarity_u104.dcm")))
    assert report is not None
    fixed = {d.fixup: (d.path, d.message) for d in report.diagnostics if d.fixup}
    assert fixed["empty_text_value"] == (
        "1.11.39",
        "TEXT items with an empty value read as null (25 items)",
    )
    assert fixed["empty_image_reference"] == (
        "1.28.6",
        "references with an empty SOP Instance UID (3 items)",
    )
    events = report.to_dict()["events"]
    assert events[0]["philips_performing_physicians_name"] is None
    assert events[17]["acquired_image"][0]["sop_instance_uid"] is None


def test_siemens_dual_source():
    assert FIXUPS["siemens_dual_source"].maker == "siemens"
    report = dose_report(_read(data_path(FIXUPS["siemens_dual_source"].example)))
    assert report is not None
    first = report.events[0]
    sources = first["ct_acquisition_parameters"]["ct_xray_source_parameters"]
    assert [s["identification_of_the_xray_source"] for s in sources] == ["A", "B"]
    assert [s["kvp"] for s in sources] == [100.0, 140.0]
