"""Re-inspection (复查) through the Python bindings against the real server: the office sends a
hazard back to the group, the phone reads it with its original evidence, records the result
with a photo, and the office verifies the hazard by it."""

import hashlib
import os

import siteproof_ffi as sp
from conftest import Office, covert_visit

def case_id(visit, finding):
    """The ledger entry of a finding (`RecordId::for_finding_case`)."""
    digest = hashlib.sha256(visit.encode() + b"\0" + finding.encode()).hexdigest()
    return "case:" + digest[:32]


def test_a_reinspection_is_read_offline_recorded_with_a_photo_and_verified_by_the_office(
        enrolled, server, tmp_path):
    phone = enrolled("reinspector", inspector="张三")
    visit = covert_visit(phone, "某液化气站")
    photo = tmp_path / "found.jpg"
    photo.write_bytes(os.urandom(20_000))
    found = phone.add_evidence(visit, str(photo),
                               sp.MediaCapture(kind=sp.MediaKind.PHOTO, mime="image/jpeg"))
    finding = phone.add_finding(visit, sp.NewFinding(
        description="钢瓶露天存放", severity=sp.Severity.MAJOR, media=[found.hash]))
    phone.sync()
    case = case_id(visit, finding)

    office = Office(server, "py-office")
    status, headers, body = office.post("/office/ledger/reinspection", case=case, note="请复查")
    assert status == 303, body

    phone.sync()
    [pushed] = [a for a in phone.assignments() if a.kind == sp.AssignmentKind.REINSPECTION]
    assert pushed.cases == [case]
    [task] = phone.reinspection_tasks(pushed.id)
    assert task.hazard.id == case
    assert task.hazard.status == "open"
    assert task.finding.description == "钢瓶露天存放"
    assert [m.hash for m in task.evidence] == [found.hash]
    assert task.results == []

    trip = phone.start_visit_from_assignment(
        pushed.id, sp.VisitFromAssignment(mode=sp.VisitMode.ANNOUNCED, team=["张三"]))
    after = tmp_path / "after.jpg"
    after.write_bytes(os.urandom(20_000))
    shot = phone.add_evidence(trip, str(after),
                              sp.MediaCapture(kind=sp.MediaKind.PHOTO, mime="image/jpeg"))
    result = phone.record_reinspection(trip, sp.NewReinspection(
        case_id=case, outcome=sp.ReinspectionOutcome.RECTIFIED, note="已移入库房",
        media=[shot.hash]))
    [done] = phone.reinspection_tasks(pushed.id, trip)[0].results
    assert (done.id, done.outcome, done.media) == (result, sp.ReinspectionOutcome.RECTIFIED,
                                                   [shot.hash])
    phone.sync()
    run = phone.upload_pending(sp.Network.UNMETERED, None, None)
    assert shot.hash in run.completed

    _, _, page = office.get(f"/office/cases/{case}")
    assert f'data-result="{result}" data-outcome="rectified"' in page
    status, _, body = office.post(f"/office/cases/{case}/reinspections/{result}/verify")
    assert status == 303, body
    _, _, page = office.get(f"/office/cases/{case}")
    assert 'data-status="verified"' in page

    phone.sync()
    [task] = phone.reinspection_tasks(pushed.id, trip)
    assert task.hazard.status == "verified"
