"""The Python bindings as back-office staff use them in scripts: load the criteria library,
read what the groups synced, report findings, and push evidence by hand."""

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import urllib.request

import pytest

import siteproof_ffi as sp
from conftest import GAS, TEMPLATES, covert_visit


def test_a_script_installs_the_whole_criteria_library(open_store):
    store = open_store()
    files = sorted(TEMPLATES.glob("*.json"))
    for path in files:
        store.install_template_json(path.read_text(encoding="utf-8"))
    listed = {(t.id, t.version): t for t in store.list_templates()}
    assert len(listed) == len(files)
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        summary = listed[(data["id"], data["version"])]
        assert summary.items == len(data["items"])
        assert summary.title_zh == data["title"]["zh"]
        template = store.template(data["id"], data["version"])
        assert [i.id for i in template.items] == [i["id"] for i in data["items"]]


def test_records_and_enums_are_plain_values(open_store):
    store = open_store()
    store.install_template_json((TEMPLATES / f"{GAS}.json").read_text(encoding="utf-8"))
    visit = covert_visit(store)
    store.answer_item(visit, "go-01", sp.AnswerInput(value=sp.AnswerValue.FAIL(), note="无证"))
    answer = store.visit(visit).answers["go-01"]
    assert answer.value == sp.AnswerValue.FAIL()
    assert answer.value.is_FAIL()
    assert answer.note == "无证"
    assert store.visit(visit).mode == sp.VisitMode.COVERT
    assert sp.AnswerValue.NUMBER(value=2.5) == sp.AnswerValue.NUMBER(value=2.5)


def test_errors_are_exceptions_a_script_can_catch_by_kind(open_store):
    store = open_store()
    template = store.install_template_json((TEMPLATES / f"{GAS}.json").read_text(encoding="utf-8"))
    with pytest.raises(sp.ApiError.NotFound):
        store.visit("0190f000-0000-7000-8000-000000000000")
    with pytest.raises(sp.ApiError.InvalidInput) as bad:
        store.visit("a/b")
    assert "record id" in bad.value.reason
    with pytest.raises(sp.ApiError.WrongKind):
        store.visit(template)
    with pytest.raises(sp.ApiError.Malformed):
        store.install_template_json((TEMPLATES / f"{GAS}.json").read_text(encoding="utf-8"))
    with pytest.raises(sp.ApiError.NotFound):
        store.sync()
    # Every variant is an ApiError: one except clause catches them all.
    with pytest.raises(sp.ApiError):
        store.template("missing", 1)


def test_a_wrong_enrollment_code_is_unauthorized(open_store, server):
    with pytest.raises(sp.ApiError.Unauthorized):
        open_store().enroll(server.url, "AAAA-BBBB-CCCC-DDD", "laptop")


def test_the_back_office_laptop_reports_the_findings_a_phone_synced(enrolled):
    phone = enrolled("phone", inspector="张三")
    visit = covert_visit(phone, "某液化气充装站")
    phone.answer_item(visit, "go-01", sp.AnswerInput(value=sp.AnswerValue.FAIL()))
    phone.add_finding(visit, sp.NewFinding(
        description="未取得燃气经营许可证", severity=sp.Severity.MAJOR, item="go-01",
        interim_measures="责令停业整顿",
    ))
    phone.add_finding(visit, sp.NewFinding(
        description="灭火器过期", severity=sp.Severity.GENERAL, fixed_on_spot=True,
    ))
    phone.finish_visit(visit)
    assert phone.sync().pushed >= 4

    laptop = enrolled("laptop")
    assert any(v.id == visit for v in laptop.list_visits())
    report = io.StringIO()
    writer = csv.writer(report)
    for summary in laptop.list_visits():
        if summary.major_findings == 0:
            continue
        full = laptop.visit(summary.id)
        for finding in full.findings:
            writer.writerow([full.site.name, finding.severity.name, finding.description, finding.by])
    rows = list(csv.reader(io.StringIO(report.getvalue())))
    assert ["某液化气充装站", "MAJOR", "未取得燃气经营许可证", "张三"] in rows
    assert ["某液化气充装站", "GENERAL", "灭火器过期", "张三"] in rows


class Progress(sp.UploadProgress):
    """Collects progress reports; cancels after the first one when asked to."""

    def __init__(self, cancel=None):
        self.reports = []
        self.cancel = cancel

    def on_progress(self, hash, done, total):
        self.reports.append((hash, done, total))
        if self.cancel is not None:
            self.cancel.cancel()


def footage(tmp_path, name, size):
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def test_uploads_report_progress_to_python_and_can_be_cancelled(enrolled, tmp_path):
    phone = enrolled("camera")
    visit = covert_visit(phone)
    clip = phone.add_evidence(visit, str(footage(tmp_path, "clip.mp4", 17_000_000)),
                              sp.MediaCapture(kind=sp.MediaKind.VIDEO, mime="video/mp4"))
    phone.sync()
    cancel = sp.CancelToken()
    first = Progress(cancel)
    with pytest.raises(sp.ApiError.Cancelled):
        phone.upload_pending(sp.Network.UNMETERED, first, cancel)
    assert first.reports == [(clip.hash, 8 << 20, clip.size)]

    rest = Progress()
    run = phone.upload_pending(sp.Network.UNMETERED, rest, None)
    assert run.completed == [clip.hash]
    assert [done for _, done, _ in rest.reports] == [16 << 20, clip.size]
    assert phone.upload_item(clip.hash).state == sp.UploadState.DONE


def test_evidence_pushed_by_hand_with_a_tus_request_is_recorded_as_verified(enrolled, tmp_path):
    """The flow the iOS demo hands to a background URLSession: one tus creation-with-upload
    request carrying the whole original, then the store is told the server verified it."""
    phone = enrolled("ios")
    visit = covert_visit(phone)
    ref = phone.add_evidence(visit, str(footage(tmp_path, "photo.bin", 300_000)),
                             sp.MediaCapture(kind=sp.MediaKind.PHOTO, mime="image/jpeg"))
    phone.sync()
    item = phone.upload_item(ref.hash)
    original = phone.original_path(ref.hash)
    body = open(original, "rb").read()
    assert hashlib.sha256(body).hexdigest() == ref.hash

    b64 = lambda s: base64.b64encode(s.encode()).decode()
    request = urllib.request.Request(
        phone.server_url() + "/v1/uploads", data=body, method="POST",
        headers={
            "Authorization": f"Bearer {phone.server_token()}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(item.size),
            "Upload-Metadata": f"record {b64(item.record)},sha256 {b64(item.hash)},filetype {b64(item.mime)}",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 201
        offset = int(response.headers["Upload-Offset"])
        location = response.headers["Location"]
    phone.set_upload_url(ref.hash, location)
    assert offset == item.size
    phone.mark_media_verified(ref.hash)

    assert phone.upload_item(ref.hash).state == sp.UploadState.DONE
    assert phone.media_info(ref.hash).verified_at is not None
    assert phone.pending_uploads() == []
    assert phone.evict_verified_media(0).files == 1


def test_a_keyed_store_opens_only_with_its_key_and_reads_media_decrypted(tmp_path):
    db, media = str(tmp_path / "siteproof.db"), str(tmp_path / "media")
    key, new_key = bytes(range(32)), bytes([9] * 32)
    store = sp.SiteproofStore.open(db, media, key)
    clip = tmp_path / "clip.bin"
    clip.write_bytes(b"DISTINCT-FOOTAGE" * 10_000)
    ref = store.import_media(str(clip), sp.MediaCapture(kind=sp.MediaKind.VIDEO, mime="video/mp4"))
    assert b"DISTINCT-FOOTAGE" not in open(store.original_path(ref.hash), "rb").read()
    out = tmp_path / "export.bin"
    assert store.export_original(ref.hash, str(out)) == ref.size
    assert hashlib.sha256(out.read_bytes()).hexdigest() == ref.hash
    store.rekey(new_key)
    del store

    for wrong in (key, bytes(32), None):
        with pytest.raises(sp.ApiError.WrongKey):
            sp.SiteproofStore.open(db, media, wrong)
    with pytest.raises(sp.ApiError.InvalidInput):
        sp.SiteproofStore.open(db, media, b"short")
    store = sp.SiteproofStore.open(db, media, new_key)
    assert store.media_info(ref.hash).size == ref.size


def test_one_store_serves_many_threads(open_store):
    store = open_store()
    store.install_template_json((TEMPLATES / f"{GAS}.json").read_text(encoding="utf-8"))
    visit = covert_visit(store)
    items = [i.id for i in store.template(GAS, 1).items]
    errors = []

    def answer(item):
        try:
            store.answer_item(visit, item, sp.AnswerInput(value=sp.AnswerValue.PASS()))
        except sp.ApiError as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=answer, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(store.visit(visit).answers) == set(items)
    assert store.list_visits()[0].answered == len(items)


def test_collections_round_trip_and_pushes_start_visits_only_when_they_exist(enrolled):
    store = enrolled()
    assert store.assignments() == []
    with pytest.raises(sp.ApiError.NotFound):
        store.start_visit_from_assignment(
            "0190f000-0000-7000-8000-000000000000",
            sp.VisitFromAssignment(mode=sp.VisitMode.COVERT, team=["张三"]),
        )
    made = store.write_collection(sp.CollectionKind.PRACTICE, "夜查经验", "先查报警装置", [])
    with pytest.raises(sp.ApiError.InvalidInput):
        store.write_collection(sp.CollectionKind.WORK_UPDATE, "  ", "", [])
    [collection] = store.collections()
    assert collection.id == made
    assert collection.kind == sp.CollectionKind.PRACTICE
    assert collection.title == "夜查经验"
    assert store.sync().pushed >= 1


def test_the_library_allocates_with_mimalloc(tmp_path):
    # The library's allocator (ffi/src/lib.rs) initialises when a script first stores through
    # it; with MIMALLOC_VERBOSE it says so on stderr. A library on the system's malloc says
    # nothing.
    script = (
        "import siteproof_ffi as sp, sys;"
        "sp.SiteproofStore.open(sys.argv[1], sys.argv[2], None)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "s.db"), str(tmp_path / "media")],
        env={**os.environ, "MIMALLOC_VERBOSE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "mimalloc: process init" in done.stderr, done.stderr
