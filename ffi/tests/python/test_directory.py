"""The enterprise directory through the Python bindings against the real server: the office
imports its roster, the phone receives the region's directory with its sync, searches it
offline and starts a visit at an enterprise, which the office finds on the enterprise's page."""

import pytest

import siteproof_ffi as sp
from conftest import GAS, Office

CODE = "91350100M000100Y43"


def test_the_directory_reaches_the_phone_and_a_visit_started_from_it_is_the_enterprises(
        enrolled, server):
    office = Office(server, "py-directory")
    office.import_roster(
        "统一社会信用代码,名称,曾用名,地址,行业领域\n"
        f"{CODE},某燃气有限公司,某液化气站,石家庄市长安区建设大街1号,gas\n")
    phone = enrolled("directory", inspector="张三")  # enrolling syncs

    [entry] = phone.directory("液化气", None)
    assert (entry.credit_code, entry.name, entry.former_names) == (
        CODE, "某燃气有限公司", ["某液化气站"])
    assert entry.sectors == [sp.Sector.GAS]
    assert (entry.open_hazards, entry.overdue_hazards, entry.blacklisted) == (0, 0, False)
    assert phone.directory_entry(CODE.lower()) == entry
    assert phone.directory("不存在", None) == []
    info = phone.directory_info()
    assert info.region == "hebei" and info.held >= 1

    visit = phone.start_visit_from_enterprise(CODE, sp.VisitFromEnterprise(
        mode=sp.VisitMode.COVERT, team=["张三"], template=sp.TemplateRef(id=GAS, version=1)))
    site = phone.visit(visit).site
    assert (site.name, site.credit_code, site.address) == (
        "某燃气有限公司", CODE, "石家庄市长安区建设大街1号")
    phone.sync()
    _, _, page = office.get(f"/office/enterprises/{CODE}")
    assert visit in page

    with pytest.raises(sp.ApiError.NotFound):
        phone.start_visit_from_enterprise("91130100MA00000012", sp.VisitFromEnterprise(
            mode=sp.VisitMode.COVERT, team=["张三"], template=sp.TemplateRef(id=GAS, version=1)))
