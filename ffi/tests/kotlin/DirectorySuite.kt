// The enterprise directory against the real server: the office imports its roster, the phone
// receives the region's directory with its sync, searches it offline and starts a visit at an
// enterprise, which the office then finds on the enterprise's page.

package org.siteproof.tests

import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import org.siteproof.core.ApiException
import org.siteproof.core.Sector
import org.siteproof.core.TemplateRef
import org.siteproof.core.VisitFromEnterprise
import org.siteproof.core.VisitMode

object DirectorySuite : Suite() {
    private const val CODE = "91110000600037341L"

    init {
        test("the directory reaches the phone and a visit started from it is the enterprise's") {
            val office = Office("kt-directory")
            office.importRoster(
                "统一社会信用代码,名称,曾用名,地址,行业领域\n" +
                    "$CODE,某燃气有限公司,某加气站,石家庄市桥西区中华南大街2号,gas\n",
            )
            Device("directory").use { phone ->
                phone.signIn("张三"); phone.enroll(); phone.store.sync()
                val entry = phone.store.directory("加气站", null).single()
                assertEquals(CODE, entry.creditCode)
                assertEquals("某燃气有限公司", entry.name)
                assertEquals(listOf(Sector.GAS), entry.sectors)
                assertEquals(0u, entry.openHazards)
                assertEquals(entry, phone.store.directoryEntry(CODE.lowercase()))
                assertTrue(phone.store.directory("不存在", null).isEmpty())
                val info = phone.store.directoryInfo()!!
                assertEquals("hebei", info.region)
                assertTrue(info.held >= 1uL)

                val visit = phone.store.startVisitFromEnterprise(
                    CODE,
                    VisitFromEnterprise(
                        mode = VisitMode.COVERT, team = listOf("张三"), template = TemplateRef(GAS_TEMPLATE, 1u),
                    ),
                )
                val site = phone.store.visit(visit).site
                assertEquals("某燃气有限公司", site.name)
                assertEquals(CODE, site.creditCode)
                assertEquals("石家庄市桥西区中华南大街2号", site.address)
                phone.store.sync()
                assertTrue(visit in office.get("/office/enterprises/$CODE"))

                assertFailsWith<ApiException> {
                    phone.store.startVisitFromEnterprise(
                        "91130100MA00000012",
                        VisitFromEnterprise(
                            mode = VisitMode.COVERT, team = listOf("张三"), template = TemplateRef(GAS_TEMPLATE, 1u),
                        ),
                    )
                }
            }
        }
    }
}
