"""Re-inspection (复查) through the Python bindings against the real server: the office sends a
hazard back to the group, the phone reads it with its original evidence, records the result
with a photo, and the office verifies the hazard by it."""

import hashlib
import http.client
import os
import re
import urllib.parse

import siteproof_ffi as sp
from conftest import covert_visit

PASSWORD = "correct horse battery staple"


class Office:
    """An office user's browser: the session cookie and the CSRF token, over plain HTTP."""

    def __init__(self, server, login):
        server.admin("user", "add", "--login", login, "--name", login, "--role", "reviewer",
                     "--region", "hebei", env={"SITEPROOF_USER_PASSWORD": PASSWORD})
        self.host = urllib.parse.urlsplit(server.url).netloc
        status, headers, _ = self.request("GET", "/office/login")
        token = self.cookie(headers, "sp_login_csrf")
        status, headers, body = self.request(
            "POST", "/office/login", {"csrf": token, "login": login, "password": PASSWORD},
            cookie=f"sp_login_csrf={token}")
        assert status == 303, body
        self.session = f"sp_session={self.cookie(headers, 'sp_session')}"
        _, _, page = self.get("/office/ledger")
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)

    @staticmethod
    def cookie(headers, name):
        for key, value in headers:
            if key.lower() == "set-cookie" and value.startswith(name + "="):
                return value.split(";")[0].split("=", 1)[1]
        raise AssertionError(f"no cookie {name}")

    def request(self, method, path, form=None, cookie=None):
        conn = http.client.HTTPConnection(self.host)
        body = urllib.parse.urlencode(form or {}, doseq=True)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie or getattr(self, "session", None):
            headers["Cookie"] = cookie or self.session
        conn.request(method, path, body=body if form is not None else None, headers=headers)
        resp = conn.getresponse()
        out = (resp.status, resp.getheaders(), resp.read().decode("utf-8", "replace"))
        conn.close()
        return out

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, **form):
        return self.request("POST", path, {"csrf": self.csrf, **form})


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
