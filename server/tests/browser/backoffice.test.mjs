// The back office in a real headless browser (Debian's chromium driven by playwright-core),
// against `siteproof serve --demo` at SITEPROOF_URL (run.sh starts it). The steps share one
// signed-in page and run in order.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import XLSX from 'xlsx';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

const base = process.env.SITEPROOF_URL ?? 'http://127.0.0.1:18931';
let browser;
let page;
// Today in Beijing time, as the pages count days.
const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
  });
  const context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
});

test('a wrong password is refused and the right one signs in', async () => {
  await page.goto(`${base}/office/login`);
  await page.fill('input[name=login]', 'reviewer');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button[type=submit]');
  assert.match(await page.textContent('.error'), /wrong/);

  await page.fill('input[name=login]', 'reviewer');
  await page.fill('input[name=password]', 'siteproof-demo');
  await Promise.all([page.waitForURL('**/office/visits'), page.click('button[type=submit]')]);
  assert.equal(await page.textContent('#count-visits'), '35', 'today and the four days before, today\'s re-inspection and three older visits of the tiered enterprises');
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'sp_session');
  assert.ok(session.httpOnly, 'the session cookie is HttpOnly');
  assert.equal(session.sameSite, 'Strict');
});

test('filters narrow the list and the counts', async () => {
  await page.fill('input[name=from]', today);
  await page.fill('input[name=to]', today);
  await Promise.all([page.waitForURL('**from=**'), page.click('#filters button[type=submit]')]);
  assert.equal(await page.textContent('#count-visits'), '8', 'the seven visits of today and the re-inspection');
  await page.selectOption('select[name=mode]', 'announced');
  await Promise.all([page.waitForURL('**mode=announced**'), page.click('#filters button[type=submit]')]);
  assert.equal(await page.textContent('#count-visits'), '2', 'one announced visit and the re-inspection');
  assert.equal(await page.locator('#visits tbody tr').count(), 2);
  await page.goto(`${base}/office/visits?from=${today}&to=${today}&sector=fire_safety&mode=covert`);
  assert.equal(await page.textContent('#count-visits'), '2');
  await page.goto(`${base}/office/reports?kind=daily&date=${today}`);
  assert.match(await page.textContent('#report-figures'), /6/);
  await page.goto(`${base}/office/visits?lang=en`);
  assert.match(await page.textContent('h1'), /Visits/);
  await page.goto(`${base}/office/visits?lang=zh`);
});

test('a visit shows conflicts, pending evidence, a photo in the viewer and a video that seeks', async () => {
  await page.goto(`${base}/office/visits`);
  await Promise.all([
    page.waitForURL(/\/office\/visits\/[0-9a-f-]+$/),
    page.click('#visits tr:has(span.flag) a'),
  ]);
  assert.ok((await page.locator('tr.conflict').count()) >= 1, 'conflicting answers flagged');
  assert.match(await page.textContent('tr.conflict td'), /易燃易爆/, 'items named by the template');
  assert.ok((await page.locator('.pending').count()) >= 1, 'evidence still uploading shown');

  await page.click('#findings a[data-viewer]');
  await page.waitForFunction(() => {
    const dialog = document.getElementById('viewer');
    const img = dialog.querySelector('img');
    return dialog.open && img.complete && img.naturalWidth > 0;
  });
  await page.click('#viewer button');

  const seek = await page.evaluate(async () => {
    const v = document.querySelector('video');
    v.muted = true;
    if (v.readyState < 1) {
      await new Promise((r, j) => {
        v.addEventListener('loadedmetadata', r, { once: true });
        v.addEventListener('error', () => j(new Error('video error')), { once: true });
      });
    }
    await v.play().catch(() => {});
    v.pause();
    v.currentTime = 5;
    await new Promise((r) => v.addEventListener('seeked', r, { once: true }));
    return { duration: v.duration, at: v.currentTime };
  });
  assert.ok(seek.duration > 6, `video duration ${seek.duration}`);
  assert.ok(Math.abs(seek.at - 5) < 0.5, `seeked to ${seek.at}`);
});

let casePath;

test('a finding is an open ledger entry that goes to closed, and its notice is a PDF', async () => {
  await Promise.all([
    page.waitForURL(/\/office\/cases\//),
    page.locator('#findings a.case-link[data-status=open]').first().click(),
  ]);
  casePath = new URL(page.url()).pathname;
  assert.equal(await page.getAttribute('#case-status', 'data-status'), 'open');

  await page.fill('form[data-kind=ordered] input[name=unit]', '某商场物业公司');
  await page.fill('form[data-kind=ordered] input[name=deadline]', '2030-06-30');
  await page.click('form[data-kind=ordered] button');
  await page.waitForSelector('#case-status[data-status=rectifying]');
  await page.fill('form[data-kind=interim_measures] input[name=note]', '设置警戒区');
  await page.click('form[data-kind=interim_measures] button');
  await page.waitForSelector('#events tr:nth-child(3)');
  // The enterprise's photo, uploaded in the browser as the rectification evidence.
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(3000, 7)]);
  await page.setInputFiles('form[data-kind=rectified] input[type=file]',
    { name: '整改后.png', mimeType: 'image/png', buffer: png });
  await page.click('form[data-kind=rectified] button');
  await page.waitForSelector('#case-status[data-status=rectified]');
  const evidence = await page.getAttribute('#uploads a.evidence', 'href');
  const served = await page.request.get(`${base}${evidence}`);
  assert.equal(served.status(), 200);
  assert.deepEqual(Buffer.from(await served.body()), png, 'the same bytes come back');
  assert.equal(await page.locator('#events a.evidence').count(), 1, 'the report names it');
  for (const [kind, status] of [['verified', 'verified'], ['closed', 'closed']]) {
    await page.click(`form[data-kind=${kind}] button`);
    await page.waitForSelector(`#case-status[data-status=${status}]`);
  }
  assert.match(await page.textContent('#events'), /reviewer/);

  const pdf = await page.request.get(`${base}${casePath}/notice.pdf`);
  assert.equal(pdf.status(), 200);
  assert.equal((await pdf.body()).subarray(0, 4).toString(), '%PDF');
});

test('the ledger downloads as XLSX with the closed case in it', async () => {
  await page.goto(`${base}/office/ledger`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#xlsx')]);
  const book = XLSX.read(await readFile(await download.path()));
  const rows = XLSX.utils.sheet_to_json(book.Sheets[book.SheetNames[0]], { header: 1 });
  assert.deepEqual(rows[0].slice(0, 3), ['编号', '立案日期', '被检查单位']);
  const id = casePath.split('/').pop();
  const row = rows.find((r) => r[0] === id);
  assert.ok(row, 'the case is in the workbook');
  assert.equal(row[9], '已销号');
  assert.equal(row[6], '某商场物业公司');
  assert.equal(row[8], 0);
});

test('the ledger holds every finding at its status and its filters narrow it', async () => {
  await page.goto(`${base}/office/ledger`);
  const total = Number(await page.textContent('#case-count'));
  assert.ok(total >= 20, `every synced finding is an entry (${total})`);
  for (const status of ['fixed_on_spot', 'open', 'rectifying', 'rectified', 'verified', 'closed', 'reopened']) {
    assert.ok(await page.locator(`#ledger tbody tr[data-status=${status}]`).count() >= 1, `an entry ${status}`);
  }

  await page.selectOption('#ledger-filters select[name=status]', 'fixed_on_spot');
  await Promise.all([page.waitForURL('**status=fixed_on_spot**'), page.click('#ledger-filters button[type=submit]')]);
  const fixed = Number(await page.textContent('#case-count'));
  assert.ok(fixed > 0 && fixed < total);
  assert.equal(await page.locator('#ledger tbody tr').count(), fixed);
  assert.equal(await page.locator('#ledger tbody tr:not([data-status=fixed_on_spot])').count(), 0);

  await page.goto(`${base}/office/ledger`);
  await page.check('#ledger-filters input[name=overdue]');
  await Promise.all([page.waitForURL('**overdue=1**'), page.click('#ledger-filters button[type=submit]')]);
  assert.ok(Number(await page.textContent('#ledger tbody tr .overdue')) > 0, 'days overdue shown');
  assert.equal(await page.locator('#ledger tbody tr:not(:has(span.flag))').count(), 0, 'overdue means listed');

  await page.goto(`${base}/office/ledger`);
  await page.check('#ledger-filters input[name=listed]');
  await Promise.all([page.waitForURL('**listed=1**'), page.click('#ledger-filters button[type=submit]')]);
  const listed = await page.locator('#ledger tbody tr').count();
  assert.ok(listed >= 2, 'the overdue one and the one listed by hand');
  assert.equal(await page.locator('#ledger tbody tr:has(span.flag)').count(), listed);

  await page.goto(`${base}/office/ledger?group=sjz-2`);
  const group2 = Number(await page.textContent('#case-count'));
  assert.ok(group2 > 0 && group2 < total);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#xlsx')]);
  const book = XLSX.read(await readFile(await download.path()));
  const rows = XLSX.utils.sheet_to_json(book.Sheets[book.SheetNames[0]], { header: 1 });
  assert.equal(rows.length - 1, group2, 'the export takes the page\'s filters');
});

test('the report counts hazards, the same in the page and the workbook', async () => {
  await page.goto(`${base}/office/reports?kind=month`);
  const figures = {};
  for (const row of await page.locator('#report-figures tr').all()) {
    figures[(await row.locator('th').textContent()).trim()] = (await row.locator('td').textContent()).trim();
  }
  assert.ok(Number(figures['发现隐患']) >= 20);
  assert.ok(Number(figures['已销号']) >= 1);
  assert.ok(Number(figures['超期未整改']) >= 1);
  assert.match(figures['销号率'], /^\d+\.\d%$/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#report-xlsx')]);
  const book = XLSX.read(await readFile(await download.path()));
  const rows = XLSX.utils.sheet_to_json(book.Sheets[book.SheetNames[0]], { header: 1 });
  for (const [label, value] of rows.slice(1)) {
    assert.equal(String(value), figures[label], label);
  }
  await page.goto(`${base}/office/reports?kind=daily&date=2021-03-01`);
  assert.equal(await page.textContent('#closure-rate'), '—', 'nothing found, no rate');
});

test('the briefing lists covert hazards with the chosen photos, as PDF and Word', async () => {
  await page.goto(`${base}/office/briefing`);
  assert.ok(Number(await page.textContent('#briefing-count')) > 0);
  const withPhoto = page.locator('#briefing-items li:has(input[name=photo])').first();
  const site = (await withPhoto.textContent()).split(' · ')[0].trim();
  assert.ok(await withPhoto.locator('input[name=photo]:checked').count() >= 1, 'the first photos chosen');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#briefing-pdf')]);
  assert.match(download.url(), /photo=/, 'the chosen photos go with the request');
  const pdf = await getDocument({ data: new Uint8Array(await readFile(await download.path())) }).promise;
  let text = '';
  for (let n = 1; n <= pdf.numPages; n++) {
    text += (await (await pdf.getPage(n)).getTextContent()).items.map((i) => i.str).join('');
  }
  assert.match(text, /安全生产暗访检查情况通报/);
  assert.ok(text.includes(site), `${site} in the PDF text`);
  const [word] = await Promise.all([page.waitForEvent('download'), page.click('#briefing-docx')]);
  const docx = await readFile(await word.path());
  assert.equal(docx.subarray(0, 2).toString(), 'PK', 'a DOCX package');
});

test('the month-end report shows the figures and a chart', async () => {
  await page.goto(`${base}/office/reports?kind=month`);
  assert.ok(await page.locator('#chart rect').count() > 0);
  assert.match(await page.textContent('#closure-rate'), /%$/);
});

test('a push lists the visit made from it; groups report back', async () => {
  await page.goto(`${base}/office/assignments`);
  assert.equal(await page.locator('#assignments tbody tr').count(), 7, 'five demo pushes, a lead passed to group 1 and a re-inspection');
  await Promise.all([
    page.waitForURL(/\/office\/assignments\/[0-9a-f-]+$/),
    page.click('#assignments a:has-text("鹿泉区某危化品仓库")'),
  ]);
  assert.equal(await page.locator('#assignment-visits li').count(), 1, 'the visit made from it');
  await page.goto(`${base}/office/collections`);
  assert.equal(await page.locator('#collections tbody tr').count(), 2);
  assert.match(await page.textContent('#collections'), /工作动态/);
});

test('a whistleblower reports without an account, gets a receipt and checks it', async () => {
  const anonymous = await browser.newContext();
  const publicPage = await anonymous.newPage();
  await publicPage.goto(`${base}/report`);
  await publicPage.selectOption('select[name=sector]', 'fire_safety');
  await publicPage.fill('input[name=site]', '桥西区某网吧');
  await publicPage.fill('textarea[name=description]', '网吧窗户全部焊死，只有一个出口，晚上人很多。');
  await Promise.all([publicPage.waitForSelector('#receipt'), publicPage.click('#lead-form button')]);
  const receipt = (await publicPage.textContent('#receipt')).trim();
  assert.match(receipt, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
  assert.equal((await anonymous.cookies()).length, 0, 'nothing stored in the reporter\'s browser');
  await publicPage.goto(`${base}/report/status`);
  await publicPage.fill('input[name=receipt]', receipt.toLowerCase());
  await Promise.all([publicPage.waitForSelector('#lead-status'), publicPage.click('#status-form button')]);
  assert.equal(await publicPage.getAttribute('#lead-status', 'data-status'), 'received');
  await anonymous.close();

  await page.goto(`${base}/office/leads`);
  assert.equal(await page.locator('#leads tbody tr').count(), 3);
  assert.equal(await page.locator('#leads td.status[data-status=assigned]').count(), 1);
  await Promise.all([
    page.waitForURL(/\/office\/leads\/[0-9a-f-]+$/),
    page.click('#leads a:has-text("桥西区某网吧")'),
  ]);
  await page.selectOption('#assign-lead select[name=group]', 'sjz-2');
  await Promise.all([page.waitForSelector('#lead-assignment'), page.click('#assign-lead button')]);
  assert.equal(await page.getAttribute('#lead-status', 'data-status'), 'assigned');
});

test('a re-inspection done on a phone shows on its hazards with the photo; the office verifies and closes', async () => {
  await page.goto(`${base}/office/assignments`);
  await Promise.all([
    page.waitForURL(/\/office\/assignments\/[0-9a-f-]+$/),
    page.click('#assignments a:has-text("复查")'),
  ]);
  const hazards = page.locator('#reinspection-cases a');
  assert.equal(await hazards.count(), 2, 'the demo sent two hazards back to group 1');
  const rectified = await hazards.nth(0).getAttribute('href');
  const notRectified = await hazards.nth(1).getAttribute('href');

  await page.goto(`${base}${notRectified}`);
  assert.equal(await page.locator('tr.reinspection[data-outcome=not_rectified]').count(), 1);
  assert.equal(await page.locator('.verify-reinspection').count(), 0, 'nothing to verify by');

  await page.goto(`${base}${rectified}`);
  const result = page.locator('tr.reinspection[data-outcome=rectified]');
  assert.equal(await result.count(), 1, 'the phone\'s result is on the hazard');
  assert.match(await result.textContent(), /已整改到位/);
  await page.waitForFunction(() => {
    const img = document.querySelector('img.reinspection-photo');
    return img && img.complete && img.naturalWidth > 0;
  });
  await page.click('.verify-reinspection');
  await page.waitForSelector('#case-status[data-status=verified]');
  assert.match(await page.textContent('#events'), /复查已整改/);
  await page.click('form[data-kind=closed] button');
  await page.waitForSelector('#case-status[data-status=closed]');
  assert.equal(await page.locator('#send-reinspection').count(), 0, 'a closed hazard is not sent back');

  // The ledger sends a re-inspection of the ticked hazards.
  await page.goto(`${base}/office/ledger?status=open&group=sjz-2`);
  await page.locator('#ledger tbody input[name=case]').first().check();
  await Promise.all([
    page.waitForURL(/\/office\/assignments\/[0-9a-f-]+$/),
    page.click('#reinspection-form button[type=submit]'),
  ]);
  assert.equal(await page.locator('#reinspection-cases li').count(), 1);
});

test('the tier view ranks enterprises with their reasons; the lists keep who and why; planning sends pushes', async () => {
  await page.goto(`${base}/office/supervision`);
  for (const tier of ['A', 'B', 'C', 'D']) {
    assert.ok(await page.locator(`table.tier[data-tier=${tier}] tbody tr`).count() >= 1, `an enterprise in tier ${tier}`);
  }
  assert.ok(await page.locator('table.tier[data-tier=A] li[data-rule=major_hazards]').count() >= 1, 'reasons shown');
  await page.selectOption('#filters select[name=tier]', 'C');
  await Promise.all([page.waitForURL('**tier=C**'), page.click('#filters button[type=submit]')]);
  assert.equal(await page.locator('table.tier').count(), 1);
  assert.match(await page.textContent('table.tier[data-tier=C]'), /正定县某酒店/);

  await page.goto(`${base}/office/supervision/lists`);
  assert.match(await page.textContent('#blacklist'), /石家庄藁城某化工有限公司/, 'the registered name');
  assert.match(await page.textContent('#key-list li[data-source=manual]'), /reviewer/);
  assert.ok(await page.locator('#audit tbody tr').count() >= 2, 'both decisions audited');

  await page.goto(`${base}/office/planning?group=sjz-1`);
  assert.ok(await page.locator('#proposals tbody tr').count() >= 1, 'covert visits proposed');
  await page.check('#proposals tr[data-enterprise="91130100000001007Q"] input[name=code]');
  await Promise.all([page.waitForURL('**/office/assignments'), page.click('#plan button[type=submit]')]);
  assert.match(await page.textContent('#assignments'), /计划暗访：正定县某酒店/);
});

test('an enterprise page shows its history: visits of a merged site, hazards by status, the merge, its tier with reasons', async () => {
  await page.goto(`${base}/office/enterprises?q=${encodeURIComponent('宾馆')}`);
  assert.equal(await page.textContent('#enterprise-count'), '1');
  await Promise.all([
    page.waitForURL('**/office/enterprises/91130100000001005J'),
    page.click('#enterprises a:has-text("石家庄桥西某宾馆有限公司")'),
  ]);
  // The inspectors typed only the site's name; the reviewer's merge brought its visits here.
  const visits = Number(await page.textContent('#visit-count'));
  assert.ok(visits >= 2, `the guesthouse's visits (${visits})`);
  assert.equal(await page.locator('#enterprise-visits tbody tr').count(), visits);
  assert.match(await page.textContent('#enterprise-visits'), /桥西区某宾馆/);
  assert.ok(await page.locator('#enterprise-hazards tbody tr').count() >= 1, 'its hazards');
  assert.ok(await page.locator('#hazards-by-status .status').count() >= 1, 'hazards counted by status');
  assert.match(await page.textContent('#enterprise-merges'), /桥西区某宾馆.*reviewer/s);
  assert.match(await page.getAttribute('#tier', 'data-tier'), /^[ABCD]$/);
  assert.ok(await page.locator('#risk li[data-rule=sector]').count() === 1, 'the sector reason');
  // The visit opens from the history.
  await Promise.all([page.waitForURL('**/office/visits/**'), page.click('#enterprise-visits tbody tr:first-child a')]);
  assert.match(await page.textContent('body'), /桥西区某宾馆/);
});

test('the tier view links a registered enterprise to its page with the same tier and reasons', async () => {
  await page.goto(`${base}/office/supervision`);
  const row = page.locator('table.tier tr[data-enterprise="91130100000001006M"]');
  const tier = await row.locator('xpath=ancestor::table').getAttribute('data-tier');
  assert.equal(tier, 'B', 'the gas operator of the demo history');
  const rules = await row.locator('li[data-rule]').evaluateAll((ls) => ls.map((l) => l.dataset.rule));
  assert.deepEqual(rules, ['sector', 'major_hazards', 'covert_gap']);
  await Promise.all([page.waitForURL('**/office/enterprises/91130100000001006M'), row.locator('a.enterprise').click()]);
  assert.equal(await page.getAttribute('#tier', 'data-tier'), 'B');
  assert.deepEqual(
    await page.locator('#risk li[data-rule]').evaluateAll((ls) => ls.map((l) => l.dataset.rule)),
    rules,
  );
  assert.match(await page.textContent('#enterprise-visits'), /鹿泉区某液化气站/);
});

test('planning: ticked proposals become planned-target pushes to the group', async () => {
  await page.goto(`${base}/office/planning?group=sjz-1&all=1`);
  const never = page.locator('#proposals tr[data-enterprise="91130100MA0DEM009G"]');
  assert.equal(await never.count(), 1, 'a registered enterprise never visited is proposed for the whole region');
  assert.match(await never.textContent(), /从未暗访|never/);
  await never.locator('input[name=code]').check();
  await page.check('#proposals tr[data-enterprise="91130100000001006M"] input[name=code]');
  await page.fill('#plan input[name=due]', today);
  await Promise.all([page.waitForURL('**/office/assignments'), page.click('#plan button[type=submit]')]);
  const pushes = await page.textContent('#assignments');
  assert.match(pushes, /计划暗访：平山县某铁矿有限公司/);
  assert.match(pushes, /计划暗访：鹿泉区某液化气站/);
});
