"""Fixtures for the Python binding tests: stores in temporary folders, and the real server that
ffi/tests/run-python.sh started (its address and admin command come in the environment)."""

import os
import pathlib
import subprocess

import pytest

import siteproof_ffi as sp

REPO = pathlib.Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "content" / "templates"
GAS = "gas-operator-major"


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
