"""The HTML pages of ``srkit serve`` over one database: the worklists of studies and
patients (searched, sorted, paged through :func:`srkit.db.browse.browse`), a study (its
series and reports), a series (its instances and a slice preview) and an instance (a
report with the images it references, or an image's header and preview).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from srkit.errors import SrkitError
from srkit.net.dicomweb.auth import SESSION_COOKIE, Sessions, check_path_uids
from srkit.web.formatting import (
    cell_text,
    date_text,
    datetime_text,
    label,
    multi_text,
    person_name,
    quote_part,
    sop_class_name,
    time_text,
)
from srkit.web.instance_view import (
    MAX_REFERENCES,
    SR_CLASS_ROOT,
    ReportView,
    image_header,
    report_view,
    segment_source,
)
from srkit.web.search_forms import BadFilter, dicom_date, name_pattern, text_pattern

__all__ = ["Pages", "int_param", "patient_href", "series_title", "study_title"]

PAGE_SIZES = (25, 50, 100, 200, 500)
DEFAULT_PAGE_SIZE = 50
NOT_IMAGES = frozenset(
    ["SR", "KO", "PR", "DOC", "RTSTRUCT", "RTPLAN", "RTRECORD", "REG", "FID", "AU", "ECG"]
)
"""Modalities of series without pixels to preview."""
STUDY_COLUMNS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyDate",
    "AccessionNumber",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)
PATIENT_COLUMNS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "NumberOfPatientRelatedStudies",
)
SERIES_COLUMNS = (
    "SeriesNumber",
    "Modality",
    "SeriesDescription",
    "BodyPartExamined",
    "Manufacturer",
    "NumberOfSeriesRelatedInstances",
)
INSTANCE_COLUMNS = ("InstanceNumber", "SOPClassUID", "ContentDate")


def _templates() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("srkit.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        person_name=person_name,
        date_text=date_text,
        datetime_text=datetime_text,
        multi_text=multi_text,
        label=label,
        q=quote_part,
    )
    return env


class Pages:
    """The HTML pages over one database."""

    def __init__(self, db: Any, token: str | None = None) -> None:
        self.db = db
        self.token = token
        self.sessions = Sessions(token) if token is not None else None
        self.env = _templates()

    def render(self, name: str, **context: Any) -> str:
        return str(self.env.get_template(name).render(**context))

    def page(
        self, request: Request | None, name: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        cookie = request.cookies.get(SESSION_COOKIE) if request is not None else None
        logged_in = self.sessions is not None and self.sessions.valid(cookie)
        csrf = self.sessions.csrf(cookie) if self.sessions is not None else ""
        return HTMLResponse(
            self.render(name, logged_in=logged_in, csrf=csrf, **context), status_code=status
        )

    # -- worklists ----------------------------------------------------------------

    def worklist(
        self,
        request: Request,
        level: str,
        title: str,
        columns: Sequence[str],
        search: Mapping[str, str],
        filters: dict[str, str],
        default_sort: tuple[str, bool],
        links: Mapping[str, str],
        crumbs: Sequence[tuple[str, str]] = (),
        error: str = "",
    ) -> HTMLResponse:
        from srkit.db.browse import browse, modalities, sortable

        params = request.query_params
        sort = params.get("sort") or default_sort[0]
        descending = (params.get("order") or ("desc" if default_sort[1] else "asc")) == "desc"
        size = int_param(params.get("size"), DEFAULT_PAGE_SIZE)
        if size not in PAGE_SIZES:
            size = DEFAULT_PAGE_SIZE
        number = max(1, int_param(params.get("page"), 1))
        status = 200
        if not sortable(level, sort) or sort not in columns:
            error = error or f"cannot sort by {sort!r}"
            sort, descending = default_sort
        result = None

        def page_of(number: int) -> Any:
            return browse(
                self.db,
                level,
                filters,
                fields=list(columns),
                sort=sort,
                descending=descending,
                limit=size,
                offset=(number - 1) * size,
            )

        if not error:
            try:
                result = page_of(number)
                if not result.rows and result.total and number > 1:  # past the end
                    number = -(-result.total // size)
                    result = page_of(number)
            except SrkitError as exc:
                error = str(exc)
        if error:
            status = 400
        rows = result.rows if result else []
        total = result.total if result else 0
        kept = {k: v for k, v in params.items() if k not in ("page",) and v}

        def url(**changes: Any) -> str:
            merged = {**kept, **{k: str(v) for k, v in changes.items()}}
            return "?" + urlencode({k: v for k, v in merged.items() if v})

        heads = []
        for keyword in columns:
            can = sortable(level, keyword)
            order = "asc" if keyword != sort or descending else "desc"
            heads.append(
                {
                    "label": label(keyword),
                    "key": keyword,
                    "href": url(sort=keyword, order=order, page=1) if can else None,
                    "sorted": ("desc" if descending else "asc") if keyword == sort else "",
                }
            )
        table = []
        for row in rows:
            cells = []
            for keyword in columns:
                link = links.get(keyword)
                href = link.format_map(_Quoted(row)) if link else None
                cells.append({"text": cell_text(keyword, row.get(keyword)), "href": href})
            table.append(cells)
        pages = max(1, -(-total // size))
        first = (number - 1) * size + 1 if rows else 0
        pager = {
            "total": total,
            "first": first,
            "last": first + len(rows) - 1 if rows else 0,
            "page": number,
            "pages": pages,
            "previous": url(page=number - 1) if number > 1 else None,
            "next": url(page=number + 1) if number < pages else None,
            "start": url(page=1) if number > 1 else None,
            "end": url(page=pages) if number < pages else None,
            "size": size,
            "sizes": PAGE_SIZES,
        }
        return self.page(
            request,
            "worklist.html",
            status=status,
            title=title,
            heads=heads,
            rows=table,
            pager=pager,
            search=search,
            sort=sort,
            order="desc" if descending else "asc",
            modalities=modalities(self.db) if "modality" in search else [],
            error=error,
            crumbs=crumbs,
            noun="studies" if level == "STUDY" else "patients",
        )

    def studies(self, request: Request, title: str = "Studies") -> HTMLResponse:
        params = request.query_params
        fields = ("name", "patient_id", "date_from", "date_to", "modality", "accession")
        search = {k: params.get(k, "") for k in (*fields, "description")}
        # the worklist's links by Patient ID (the older form of this page's URL)
        if not search["patient_id"] and params.get("PatientID"):
            search["patient_id"] = params["PatientID"]
        filters: dict[str, str] = {}
        error = ""
        try:
            filters["PatientName"] = name_pattern(search["name"])
            filters["PatientID"] = search["patient_id"].strip()
            low = dicom_date(search["date_from"], "Study date from")
            high = dicom_date(search["date_to"], "Study date to")
            if low and high and low > high:
                raise BadFilter("Study date from is after Study date to")
            filters["StudyDate"] = f"{low}-{high}" if low or high else ""
            filters["ModalitiesInStudy"] = search["modality"].strip()
            filters["AccessionNumber"] = search["accession"].strip()
            filters["StudyDescription"] = text_pattern(search["description"])
        except BadFilter as exc:
            error = str(exc)
        patient_id = search["patient_id"].strip()
        if patient_id and not any(c in patient_id for c in "*?\\"):
            found = self.db.query("PATIENT", {"PatientID": patient_id}, limit=1)
            if found:
                who = person_name(found[0].get("PatientName"))
                title = f"Studies of {who} ({patient_id})" if who else f"Studies of {patient_id}"
        return self.worklist(
            request,
            "STUDY",
            title,
            STUDY_COLUMNS,
            search,
            {k: v for k, v in filters.items() if v},
            ("StudyDate", True),
            {
                "PatientName": "/studies/{StudyInstanceUID}",
                "PatientID": "/studies?patient_id={PatientID}",
                "StudyDate": "/studies/{StudyInstanceUID}",
                "StudyDescription": "/studies/{StudyInstanceUID}",
            },
            error=error,
        )

    def patients(self, request: Request) -> HTMLResponse:
        params = request.query_params
        search = {k: params.get(k, "") for k in ("name", "patient_id")}
        filters = {
            "PatientName": name_pattern(search["name"]),
            "PatientID": search["patient_id"].strip(),
        }
        return self.worklist(
            request,
            "PATIENT",
            "Patients",
            PATIENT_COLUMNS,
            search,
            {k: v for k, v in filters.items() if v},
            ("PatientName", False),
            {
                "PatientName": "/studies?patient_id={PatientID}",
                "PatientID": "/studies?patient_id={PatientID}",
            },
        )

    # -- a study, a series ----------------------------------------------------------

    def _one(self, level: str, key: str, uid: str) -> dict[str, Any]:
        check_path_uids(uid)
        rows = self.db.query(level, {key: uid}, limit=1)
        if not rows:
            raise HTTPException(404, f"no such {level.lower()}")
        return dict(rows[0])

    def study(self, request: Request, uid: str) -> HTMLResponse:
        from srkit.db.browse import browse

        study = self._one("STUDY", "StudyInstanceUID", uid)
        series = browse(
            self.db,
            "SERIES",
            {"StudyInstanceUID": uid},
            fields=list(SERIES_COLUMNS),
            sort="SeriesNumber",
            limit=500,
        ).rows
        reports = [
            {
                "uid": d["sop_instance_uid"],
                "title": d.get("title_meaning") or sop_class_name(d.get("sop_class_uid")),
                "template": d.get("template") or "",
                "kind": str(d.get("kind") or "").replace("_", " "),
            }
            for d in self.db.sr_documents(study_instance_uid=uid)
        ]
        for row in series:
            row["image"] = str(row.get("Modality") or "") not in NOT_IMAGES
        return self.page(
            request,
            "study.html",
            title=study_title(study),
            study=study,
            facts=_study_facts(study),
            series=series,
            reports=reports,
            crumbs=[
                ("Studies", "/studies"),
                (person_name(study.get("PatientName")) or "Patient", patient_href(study)),
            ],
        )

    def series(self, request: Request, uid: str) -> HTMLResponse:
        from srkit.db.browse import browse

        series = self._one("SERIES", "SeriesInstanceUID", uid)
        params = request.query_params
        number = max(1, int_param(params.get("page"), 1))
        size = 100
        page = browse(
            self.db,
            "IMAGE",
            {"SeriesInstanceUID": uid},
            fields=list(INSTANCE_COLUMNS),
            sort="InstanceNumber",
            limit=size,
            offset=(number - 1) * size,
        )
        image = str(series.get("Modality") or "") not in NOT_IMAGES
        count = int(series.get("NumberOfSeriesRelatedInstances") or page.total)
        slice_number = min(max(0, int_param(params.get("slice"), count // 2)), max(count - 1, 0))
        rows = [
            {
                "uid": r["SOPInstanceUID"],
                "number": r.get("InstanceNumber"),
                "kind": sop_class_name(r.get("SOPClassUID")),
                "date": date_text(r.get("ContentDate")),
            }
            for r in page.rows
        ]
        pages = max(1, -(-page.total // size))
        return self.page(
            request,
            "series.html",
            title=series_title(series, who=True),
            series=series,
            rows=rows,
            image=image,
            count=count,
            slice_number=slice_number,
            page=number,
            pages=pages,
            total=page.total,
            first=(number - 1) * size + 1,
            crumbs=[
                ("Studies", "/studies"),
                (person_name(series.get("PatientName")) or "Patient", patient_href(series)),
                (study_title(series), f"/studies/{quote_part(series['StudyInstanceUID'])}"),
            ],
        )

    # -- an instance ------------------------------------------------------------------

    def instance(self, request: Request, uid: str) -> HTMLResponse:
        check_path_uids(uid)
        rows = self.db.query("IMAGE", {"SOPInstanceUID": uid}, limit=1)
        if not rows:
            raise HTTPException(404, "no such instance")
        row = rows[0]
        path = self.db.instance_path(uid)
        if path is None or not path.is_file():
            raise HTTPException(404, "the instance's file is missing")
        crumbs = [
            ("Studies", "/studies"),
            (person_name(row.get("PatientName")) or "Patient", patient_href(row)),
            (study_title(row), f"/studies/{quote_part(row['StudyInstanceUID'])}"),
            (series_title(row), f"/series/{quote_part(row['SeriesInstanceUID'])}"),
        ]
        sop_class = str(row.get("SOPClassUID") or "")
        view = report_view(path) if sop_class.startswith(SR_CLASS_ROOT) else ReportView()
        params = request.query_params
        context: dict[str, Any] = {
            "uid": uid,
            "row": row,
            "crumbs": crumbs,
            "kind": sop_class_name(row.get("SOPClassUID")),
        }
        if view.html is not None or view.dump is not None:
            for ref in view.references[:MAX_REFERENCES]:
                self._resolve(ref)
            title = f"{view.title or context['kind']} - {person_name(row.get('PatientName'))} "
            title += date_text(row.get("StudyDate"))
            return self.page(
                request,
                "instance.html",
                title=title.strip(" -"),
                report_html=view.html,
                dump=view.dump,
                references=view.references[:MAX_REFERENCES],
                more_references=max(0, len(view.references) - MAX_REFERENCES),
                **context,
            )
        facts, frames, segments, sources = image_header(path)
        frame = min(max(1, int_param(params.get("frame"), 1)), max(frames, 1))
        preview = {"size": "512", "frame": str(frame)}
        for key in ("sr", "seg", "segment"):
            if params.get(key):
                value = params[key]
                if key != "segment":
                    check_path_uids(value)
                elif not value.isdigit():
                    raise HTTPException(400, "segment must be a number")
                preview[key] = value
        title = f"{context['kind']} {row.get('InstanceNumber') or ''}".strip()
        title += f" - {person_name(row.get('PatientName'))} {date_text(row.get('StudyDate'))}"
        return self.page(
            request,
            "image.html",
            title=title.strip(" -"),
            facts=facts,
            frames=frames,
            frame=frame,
            preview=urlencode(preview),
            segments=segments,
            sources=sources,
            error=view.error if view.error != "not a structured report" else "",
            **context,
        )

    def _resolve(self, ref: dict[str, Any]) -> None:
        """Where an IMAGE reference of a report leads: the image in this archive (its
        number and series), for a SEG segment the image it was made from with the
        segment drawn over it; ``known`` is False for an image not here."""
        rows = self.db.query(
            "IMAGE",
            {"SOPInstanceUID": ref["uid"]},
            fields=["InstanceNumber", "SeriesNumber", "Modality"],
            limit=1,
        )
        ref["known"] = bool(rows)
        ref["target"] = ref["uid"]
        if rows:
            found = rows[0]
            ref["where"] = (
                f"{found.get('Modality') or ''} series {found.get('SeriesNumber') or '?'}, "
                f"image {found.get('InstanceNumber') or '?'}"
            ).strip()
        if ref["segments"] and rows:
            path = self.db.instance_path(ref["uid"])
            source = segment_source(path, int(ref["segments"].split(",")[0]))
            if source is not None and self.db.query(
                "IMAGE", {"SOPInstanceUID": source}, fields=["InstanceNumber"], limit=1
            ):
                ref["target"] = source


class _Quoted(dict[str, Any]):
    """Row values URL-quoted for ``str.format_map``."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        super().__init__({k: quote_part(v) for k, v in row.items()})

    def __missing__(self, key: str) -> str:
        return ""


def int_param(value: Any, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def patient_href(row: Mapping[str, Any]) -> str:
    return f"/studies?patient_id={quote_part(row.get('PatientID'))}"


def study_title(row: Mapping[str, Any]) -> str:
    """``Lovelace, Ada - 2025-01-06 - CT sample study``."""
    parts = [
        person_name(row.get("PatientName")) or str(row.get("PatientID") or ""),
        date_text(row.get("StudyDate")),
        str(row.get("StudyDescription") or ""),
    ]
    return " - ".join(p for p in parts if p) or "Study"


def series_title(row: Mapping[str, Any], *, who: bool = False) -> str:
    """``CT series 2: Axial 5 mm``, with ``who``: ``... - Lovelace, Ada 2025-01-06``."""
    head = f"{row.get('Modality') or ''} series {row.get('SeriesNumber') or ''}".strip()
    description = str(row.get("SeriesDescription") or "")
    text = f"{head}: {description}" if description else head
    if who:
        person = person_name(row.get("PatientName")) or str(row.get("PatientID") or "")
        text += f" - {person} {date_text(row.get('StudyDate'))}".rstrip()
    return text


def _study_facts(study: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts = [
        ("Patient", person_name(study.get("PatientName"))),
        ("Patient ID", str(study.get("PatientID") or "")),
        ("Birth date", date_text(study.get("PatientBirthDate"))),
        ("Sex", str(study.get("PatientSex") or "")),
        (
            "Study date",
            f"{date_text(study.get('StudyDate'))} {time_text(study.get('StudyTime'))}".strip(),
        ),
        ("Description", str(study.get("StudyDescription") or "")),
        ("Accession", str(study.get("AccessionNumber") or "")),
        ("Referring physician", person_name(study.get("ReferringPhysicianName"))),
        ("Modalities", multi_text(study.get("ModalitiesInStudy"))),
        ("Series / instances", "{} / {}".format(
            study.get("NumberOfStudyRelatedSeries") or 0,
            study.get("NumberOfStudyRelatedInstances") or 0,
        )),
        ("Study UID", str(study.get("StudyInstanceUID") or "")),
    ]  # fmt: skip
    return [(k, v) for k, v in facts if v]
