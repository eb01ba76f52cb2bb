"""Issue 12: the user files of dose management (national DRLs, protocol mapping, alert
thresholds): the shipped examples load and say they are examples; bad files give one
line naming the file and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import srkit
from srkit.cli.main import cli
from srkit.dose.alerts import AlertConfig
from srkit.dose.drl import DrlTable
from srkit.dose.mapping import ProtocolMap
from srkit.errors import SrkitError

EXAMPLES = Path(srkit.__file__).parent / "dose" / "examples"


def test_shipped_examples_load_and_say_so() -> None:
    text = (EXAMPLES / "drl-example.toml").read_text()
    assert "EXAMPLE ONLY" in text
    entries = DrlTable.load(EXAMPLES / "drl-example.toml")
    assert [e.name for e in entries] == [
        "Head",
        "Chest",
        "Abdomen and pelvis",
        "Coronary angiography",
    ]
    assert all("EXAMPLE" in (e.source or "") for e in entries)
    coronary = entries[3]
    assert coronary.dap == pytest.approx(35.0e-4)  # 35 Gy.cm2 in Gy.m2
    mapping = ProtocolMap.load(EXAMPLES / "protocol-map-example.csv")
    assert mapping.standard("  head   routine ") == "Head"
    assert mapping.standard("Routine Head 5mm") == "Head"
    assert mapping.standard("CHEST LOW DOSE") == "Chest"
    assert mapping.standard("Knee") is None


def test_mapping_toml_and_prefix_order(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text('[protocols]\n"CHEST*" = "Chest"\n"CHEST CTPA*" = "CT pulmonary angiography"\n')
    mapping = ProtocolMap.load(path)
    assert mapping.standard("chest ctpa 1mm") == "CT pulmonary angiography"
    assert mapping.standard("Chest routine") == "Chest"


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("drl.csv", "name,modality,dlp\nHead,CT,lots\n", "'lots' is not a number"),
        ("drl.csv", "protocol,dlp\nHead,5\n", "expected a header name,modality"),
        ("drl.csv", "name,modality,dlp\nHead,CT,-3\n", "not a positive number"),
        ("drl.toml", "[[drl]\n", "not TOML"),
        ("drl.toml", "[other]\n", "no [[drl]] tables"),
    ],
)
def test_bad_drl_files(tmp_path: Path, name: str, text: str, reason: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SrkitError, match=reason.replace("[", r"\[")) as info:
        DrlTable.load(path)
    assert info.value.source == str(path)


def test_bad_files_on_the_command_line(tmp_path: Path) -> None:
    from tests.dose.test_alert_hooks import DAY, _fluoro

    db = tmp_path / "db.sqlite"
    _fluoro(tmp_path, "a", "P1", DAY, 0.01, 0.1)
    runner = CliRunner()
    assert runner.invoke(cli, ["import", str(tmp_path / "a.dcm"), "--db", str(db)]).exit_code == 0
    bad = tmp_path / "map.csv"
    bad.write_text("vendor,standard\nA,B\n")
    result = runner.invoke(cli, ["dose", "unmapped", "--db", str(db), "--mapping", str(bad)])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert str(bad) in line
    assert "vendor_protocol,standard_name" in line
    config = tmp_path / "alerts.toml"
    config.write_text("[alerts]\ndose_rp_gy = 'two'\n")
    result = runner.invoke(cli, ["dose", "alerts", "--db", str(db), "--config", str(config)])
    assert result.exit_code == 1
    assert str(config) in result.stderr
    assert "bad threshold" in result.stderr
    missing = runner.invoke(cli, ["dose", "alerts", "--db", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 1
    assert "no such database" in missing.stderr
    since = runner.invoke(cli, ["dose", "alerts", "--db", str(db), "--since", "March"])
    assert since.exit_code == 2
    assert "is not a date" in since.output
    (tmp_path / "x.toml").write_text("[alerts]\nwindow = 3\n")
    with pytest.raises(SrkitError, match="unknown keys"):
        AlertConfig.load(tmp_path / "x.toml")
