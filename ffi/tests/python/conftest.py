"""Fixtures for the Python binding tests: stores in temporary folders, and the real server that
ffi/tests/run-python.sh started (its address and admin command come in the environment)."""

import http.client
import os
import pathlib
import re
import subprocess
import urllib.parse

import pytest

import siteproof_ffi as sp

REPO = pathlib.Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "content" / "templates"
GAS = "gas-operator-major"
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

    def import_roster(self, csv):
        """Imports an enterprise roster (CSV) into the registry, as the list page's script does."""
        conn = http.client.HTTPConnection(self.host)
        conn.request("POST", "/office/enterprises/import", body=csv.encode(),
                     headers={"Cookie": self.session, "X-CSRF-Token": self.csrf})
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        conn.close()
        assert resp.status < 400, body


class Server:
    """The running server and `siteproof admin` on its data folder."""

    def __init__(self):
        try:
            self.url = os.environ["SITEPROOF_URL"]
            self.group = os.environ["SITEPROOF_GROUP"]
            self._bin = os.environ["SITEPROOF_BIN"]
            self._data = os.environ["SITEPROOF_DATA"]
        except KeyError as missing:
            pytest.fail(f"{missing} is not set: run ffi/tests/run-python.sh")

    def admin(self, *args, env=None):
        return subprocess.run(
            [self._bin, "admin", "--data", self._data, *args],
            check=True, capture_output=True, text=True,
            env=None if env is None else {**os.environ, **env},
        ).stdout

    def enroll_code(self):
        return self.admin("enroll-code", "--group", self.group).strip()


@pytest.fixture(scope="session")
def server():
    return Server()


@pytest.fixture
def open_store(tmp_path):
    """Opens stores under the test's folder: `open_store("name")`."""
    opened = []

    def open_(name="laptop"):
        folder = tmp_path / name
        folder.mkdir()  # SQLite creates the file, not its folder
        store = sp.SiteproofStore.open(str(folder / "siteproof.db"), str(folder / "media"), None)
        opened.append(store)
        return store

    return open_


@pytest.fixture
def enrolled(open_store, server):
    """An enrolled, synced store: `enrolled("name")`."""

    def enroll(name="laptop", inspector="back office"):
        store = open_store(name)
        store.set_profile(sp.Profile(inspector=inspector, scope=store.profile().scope))
        store.enroll(server.url, server.enroll_code(), name)
        store.sync()
        return store

    return enroll


def covert_visit(store, site="某燃气站"):
    """Starts a covert visit to a gas station with the gas operators' template."""
    return store.create_visit(sp.NewVisit(
        site=sp.Site(name=site, credit_code=None, address="石家庄市", sector=sp.Sector.GAS),
        mode=sp.VisitMode.COVERT,
        team=["张三"],
        template=sp.TemplateRef(id=GAS, version=1),
        assignment=None,
        location=None,
    ))
