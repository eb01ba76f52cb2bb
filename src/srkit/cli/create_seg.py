"""``srkit create seg LABELS.nii.gz --image DIR --meta SEG.json -o OUT``: a SEG from a labelmap."""

from __future__ import annotations

import json
from pathlib import Path

import click

from srkit.cli.common import fail, iter_files, user_errors

__all__ = ["create_seg"]


@click.command("seg")
@click.argument("labels", type=click.Path())
@click.option(
    "--image",
    "image",
    required=True,
    type=click.Path(),
    help="The image series (folder or files) the labels were drawn on.",
)
@click.option(
    "--meta",
    required=True,
    type=click.Path(),
    help="dcmqi seg-schema JSON with segmentAttributes per label.",
)
@click.option("-o", "--output", required=True, type=click.Path(), help="The SEG file.")
@user_errors
def create_seg(labels: str, image: str, meta: str, output: str) -> None:
    """Write a BINARY Segmentation (highdicom) from a labelmap on an image series' grid.

    Each label value must have an entry in the JSON's segmentAttributes (labelID); the
    labelmap's grid must be the series' grid (srkit load writes it so).
    """
    from srkit.load.export import volume_from_nifti, write_seg

    for path in (labels, meta):
        if not Path(path).exists():
            fail(f"{path}: No such file or directory")
    try:
        description = json.loads(Path(meta).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"{meta}: not a JSON file ({exc})")
    files = [str(p) for p in iter_files([image]) if p.is_file()]
    if not files:
        fail(f"{image}: no files")
    written = write_seg(volume_from_nifti(labels), files, description, output)
    click.echo(str(written))
    click.echo(f"srkit create seg: {len(files)} source images \u2192 {written}", err=True)
