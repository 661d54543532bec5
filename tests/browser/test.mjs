// Browser test of the Tandem dashboard.
//
// Starts `tandem run --demo --listen 127.0.0.1:<free port>` in a fresh temp dir, opens the
// dashboard in headless Chromium with the admin token and checks, against the real API:
//   1. the page loads, drops the token from the URL and goes live (SSE);
//   2. the funnel numbers on the page equal GET /api/dashboard/summary at the same version;
//   3. a lead posted by the test shows up in "recent activity" within 2 s, without a reload;
//   4. clicking it opens the lead page with a score breakdown (counted / not counted lines);
//   5. switching to English changes the headings;
//   6. a webhook answering 400 and one that is down (after the program is reloaded with a
//      tandem.toml subscribing both to lead_updated) show in the delivery-health panel: the
//      paused endpoint as an alert with Resume, the failures with Re-deliver, a hostile lead
//      id rendered as text; both buttons work;
//   7. the hostile lead's page shows its last email: the HTML in a sandboxed iframe (set via
//      srcdoc, without the open pixel, so viewing records no open) and the text part;
//   8. no console error or warning happened during all of it.
// Screenshots go to artifacts/. Exit code 0 only when every check passed.
//
// Env: TANDEM_BIN (default <repo>/target/debug/tandem), CHROMIUM (default /usr/bin/chromium),
//      TANDEM_MOCK=1 runs mock-server.mjs instead of the real binary, KEEP_TMP=1 keeps the temp dir,
//      TANDEM_ASSETS=disk serves service/assets/ from disk (through asset-proxy.mjs) instead of
//      the copy compiled into the binary, to try UI changes without rebuilding.

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAssetProxy } from './asset-proxy.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const ART = join(HERE, 'artifacts');
const MOCK = process.env.TANDEM_MOCK === '1';
const DISK_ASSETS = process.env.TANDEM_ASSETS === 'disk';
const BIN = process.env.TANDEM_BIN || join(REPO, 'target/debug/tandem');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TOTAL_MS = 90_000;
const LIVE_MS = 2_000;
const FUNNEL_MS = 5_000;

const started = Date.now();
const log = (...a) => console.log(`[browser ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`, ...a);

class Failure extends Error {}
function check(cond, message) { if (!cond) throw new Failure(message); }

let passed = 0;
async function step(name, fn) {
  log(`… ${name}`);
  await fn();
  passed++;
  log(`ok ${name}`);
}

// ------------------------------------------------------------------ server

let server = null; // { child, dir, base, token, logTail }
let proxy = null; // with TANDEM_ASSETS=disk: { base, close }

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

async function startServer() {
  if (!MOCK) check(existsSync(BIN), `the tandem binary is missing: ${BIN} (run cargo build, or set TANDEM_BIN)`);
  const dir = await mkdtemp(join(tmpdir(), 'tandem-browser-'));
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const [cmd, args] = MOCK
    ? [process.execPath, [join(HERE, 'mock-server.mjs'), 'run', '--demo', '--listen', listen]]
    : [BIN, ['run', '--demo', '--listen', listen, '--config', join(dir, 'service.toml')]];
  // Webhook retries over a 1.8 s window, so an endpoint that is down gets paused within the test.
  await writeFile(join(dir, 'service.toml'), '[webhook_delivery]\nretry_window_hours = 0.0005\nretry_base_ms = 200\nmax_delay_ms = 400\n');
  log(`starting ${MOCK ? 'the MOCK server' : BIN} on ${listen} in ${dir}`);
  const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(join(ART, 'server.log'));
  let tail = '';
  const keep = (chunk) => { out.write(chunk); tail = (tail + chunk.toString()).slice(-4000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  server = { child, dir, base: `http://${listen}`, token: null, logTail: () => tail, exited: () => exited, out };

  const deadline = Date.now() + 30_000;
  for (;;) {
    check(!exited, `the server exited early (code ${exited && exited.code}, signal ${exited && exited.signal}); its output:\n${tail}`);
    check(Date.now() < deadline, `the server did not answer GET /healthz within 30 s; its output:\n${tail}`);
    try {
      const r = await fetch(`${server.base}/healthz`);
      if (r.ok) break;
    } catch (_) { /* not up yet */ }
    await sleep(100);
  }
  for (;;) {
    try {
      const tok = (await readFile(join(dir, 'tandem.token'), 'utf8')).trim();
      if (tok) { server.token = tok; break; }
    } catch (_) { /* not written yet */ }
    check(Date.now() < deadline, `no tandem.token in ${dir}`);
    await sleep(50);
  }
  log(`server up at ${server.base}`);
  if (DISK_ASSETS) {
    proxy = await startAssetProxy(server.base);
    log(`serving service/assets/ from disk at ${proxy.base} (API forwarded to ${server.base})`);
  }
}

async function stopServer() {
  if (proxy) { await proxy.close().catch(() => {}); proxy = null; }
  if (!server) return;
  const { child, dir } = server;
  if (!server.exited()) {
    child.kill('SIGTERM');
    const t0 = Date.now();
    while (!server.exited() && Date.now() - t0 < 5_000) await sleep(50);
    if (!server.exited()) { log('the server did not stop on SIGTERM within 5 s: SIGKILL'); child.kill('SIGKILL'); await sleep(100); }
  }
  server.out.end();
  if (process.env.KEEP_TMP !== '1') await rm(dir, { recursive: true, force: true }).catch(() => {});
  server = null;
}

async function api(method, path, body) {
  const r = await fetch(server.base + path, {
    method,
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
    body: body == null ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  check(r.ok, `${method} ${path} answered ${r.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

// ------------------------------------------------------------------ webhook receiver, program

// A webhook receiver that refuses every delivery with 400 (a failure at the first attempt).
function startReceiver() {
  const r = { count: 0, server: null, port: 0 };
  r.server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => { r.count++; res.writeHead(400, { 'Content-Type': 'text/plain' }); res.end('no thanks'); });
  });
  return new Promise((ok) => r.server.listen(0, '127.0.0.1', () => { r.port = r.server.address().port; ok(r); }));
}

// The example program `tandem run` runs without a folder (the files src/embedded.rs compiles in).
async function programFiles() {
  const dir = join(REPO, 'journeys');
  const files = {};
  for (const name of await readdir(dir)) if (name.endsWith('.journey')) files[name] = await readFile(join(dir, name), 'utf8');
  for (const name of await readdir(join(dir, 'templates'))) files[`templates/${name}`] = await readFile(join(dir, 'templates', name), 'utf8');
  return files;
}

// A fixed-offset zone where it is now early afternoon: a lead there is outside the program's
// quiet hours (21:00–8:00 of the lead's local time) whenever the test runs.
function daytimeZone() {
  let off = (14 - new Date().getUTCHours() + 24) % 24;
  if (off > 14) off -= 24;
  return off === 0 ? 'Etc/GMT' : `Etc/GMT${off > 0 ? '-' : '+'}${Math.abs(off)}`; // POSIX signs: Etc/GMT-7 is UTC+7
}

// ------------------------------------------------------------------ browser helpers

let browser = null;
let receiver = null; // the webhook receiver of the delivery-health check
const consoleProblems = [];

// Reads the funnel as the page shows it: version, period and every [data-testid=funnel-…] cell.
function readPage(page) {
  return page.evaluate(() => {
    const num = (el) => {
      const digits = el.textContent.replace(/[^\d-]/g, '');
      return digits === '' ? null : Number(digits);
    };
    const grab = (prefix) => Object.fromEntries(Array.from(document.querySelectorAll(`[data-testid^="${prefix}"]`))
      .map((el) => [el.dataset.testid.slice(prefix.length), { text: num(el), value: el.dataset.value === '' ? null : Number(el.dataset.value) }]));
    const v = document.querySelector('[data-testid="summary-version"]').textContent.trim();
    return {
      version: /^\d+$/.test(v) ? Number(v) : null,
      from: document.querySelector('#period-from').value,
      to: document.querySelector('#period-to').value,
      current: grab('funnel-current-'),
      reached: grab('funnel-reached-'),
    };
  });
}

function diffCounts(label, want, got) {
  const problems = [];
  for (const [k, v] of Object.entries(want)) {
    if (!(k in got)) problems.push(`${label}.${k}: missing on the page (API ${v})`);
    else if (got[k].text !== v || got[k].value !== v) problems.push(`${label}.${k}: page shows ${got[k].text} (data-value ${got[k].value}), API ${v}`);
  }
  for (const k of Object.keys(got)) if (!(k in want)) problems.push(`${label}.${k}: on the page but not in the API`);
  return problems;
}

async function shot(page, name) {
  const file = join(ART, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
}

// ------------------------------------------------------------------ the test

async function run() {
  mkdirSync(ART, { recursive: true });
  check(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
  await startServer();

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      const loc = m.location();
      consoleProblems.push(`console ${m.type()}: ${m.text()}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
      log(`!! console ${m.type()}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => { consoleProblems.push(`uncaught exception: ${e.message}`); log(`!! page error: ${e.message}`); });

  await step('the dashboard loads with the token from the URL and goes live', async () => {
    await page.goto(`${(proxy || server).base}/#token=${encodeURIComponent(server.token)}`);
    await page.waitForSelector('[data-testid^="funnel-current-"]', { timeout: 10_000 });
    const url = new URL(page.url());
    check(!url.hash.includes('token'), `the token is still in the URL: ${page.url()}`);
    const stored = await page.evaluate(() => localStorage.getItem('tandem.token'));
    check(stored === server.token, 'the token was not kept in localStorage');
    await page.waitForSelector('#live[data-state="on"]', { timeout: 5_000 })
      .catch(() => { throw new Failure('the live indicator did not turn on within 5 s (SSE /api/stream not connected)'); });
  });

  await step('the page has one <h1> naming it', async () => {
    // Headings inside hidden parts (the sign-in form once signed in) are not read out.
    const h1 = await page.evaluate(() => [...document.querySelectorAll('h1')]
      .filter((e) => !e.closest('[hidden]'))
      .map((e) => e.textContent.trim()));
    check(h1.length === 1 && h1[0].includes('Tandem'), `the page's <h1> elements: ${JSON.stringify(h1)}`);
  });
  await step('the funnel on the page equals GET /api/dashboard/summary (same version)', async () => {
    const deadline = Date.now() + FUNNEL_MS;
    let last = 'no poll saw the page and the API at the same version';
    let polls = 0;
    for (;;) {
      polls++;
      const before = await readPage(page);
      const q = before.from && before.to ? `?from=${before.from}&to=${before.to}` : '';
      const sum = await api('GET', `/api/dashboard/summary${q}`);
      const after = await readPage(page);
      if (before.version === sum.version && after.version === sum.version) {
        const problems = [...diffCounts('current', sum.funnel.current, after.current), ...diffCounts('reached', sum.funnel.reached, after.reached)];
        if (!problems.length) {
          log(`   version ${sum.version}, ${Object.keys(sum.funnel.current).length} stages, equal after ${polls} poll(s): ${JSON.stringify(sum.funnel.current)}`);
          return;
        }
        last = `at version ${sum.version}: ${problems.join('; ')}`;
      } else {
        last = `versions never matched (page ${before.version}/${after.version}, API ${sum.version})`;
      }
      check(Date.now() < deadline, `the page's funnel did not match the API within ${FUNNEL_MS / 1000} s: ${last}`);
      await sleep(40);
    }
  });
  await shot(page, 'overview');

  const id = `browser-test-${Date.now()}`;
  await step(`a new lead (${id}) appears in recent activity within ${LIVE_MS / 1000} s, without a reload`, async () => {
    await page.evaluate((v) => { window.__tandemNoReload = v; }, id);
    await api('POST', '/api/leads', {
      id,
      fields: {
        name: 'Kiểm Thử Trình Duyệt', email: `${id}@saoviet.vn`, title: 'Giám đốc vận hành',
        company: 'Sao Việt Logistics', company_size: 350, industry: 'logistics', city: 'Hồ Chí Minh', source: 'website',
      },
    });
    await api('POST', '/api/events', { lead: id, event: 'form_submitted', props: { form: 'ebook_chuyen_doi_so', page: '/ebook' } });
    const t0 = Date.now();
    await page.waitForSelector(`[data-testid="recent-row"][data-lead="${id}"]`, { timeout: LIVE_MS })
      .catch(() => { throw new Failure(`${id} did not appear in the recent activity within ${LIVE_MS / 1000} s of posting it`); });
    log(`   appeared ${Date.now() - t0} ms after the event was posted`);
    check(await page.evaluate((v) => window.__tandemNoReload === v, id), 'the page reloaded (a live update must not reload it)');
  });

  await step('the diagram opens on the journey with the most leads in it now (per the API)', async () => {
    // Opened afresh now that the test's lead is in a journey.
    await page.reload();
    await page.waitForSelector('tr[data-journey][aria-current="true"]', { timeout: 10_000 });
    const sum = await api('GET', '/api/dashboard/summary');
    const journeys = sum.journeys || [];
    check(journeys.length > 0, 'the API lists no journey');
    check(journeys.some((j) => (j.active || 0) > 0), 'no journey has a lead in it yet');
    const most = Math.max(...journeys.map((j) => j.active || 0));
    const selected = await page.evaluate(() => {
      const row = document.querySelector('tr[data-journey][aria-current="true"]');
      return row ? row.getAttribute('data-journey') : null;
    });
    const picked = journeys.find((j) => j.name === selected);
    check(picked, `no journey is selected (API journeys: ${journeys.map((j) => j.name).join(', ')})`);
    check((picked.active || 0) === most, `the diagram opened on ${selected} (${picked.active} now), not on one with ${most}`);
    log(`   ${selected}: ${picked.active} leads now`);
  });

  await step('clicking the lead opens its page with a score breakdown', async () => {
    const link = page.locator(`[data-testid="recent-row"][data-lead="${id}"] [data-testid="recent-lead-link"]`).first();
    try {
      await link.click({ timeout: 3_000 });
    } catch (e) {
      // --demo adds several lines a second; if ours already left the last 20, follow the same link by hand.
      log(`   the link could not be clicked (${e.message.split('\n')[0]}); opening #/lead/${id} instead`);
      await page.evaluate((v) => { window.location.hash = '#/lead/' + encodeURIComponent(v); }, id);
    }
    await page.waitForFunction((v) => decodeURIComponent(window.location.hash) === `#/lead/${v}`, id, { timeout: 2_000 });
    await page.waitForSelector('[data-testid="lead-id"]', { timeout: 5_000 });
    check((await page.textContent('[data-testid="lead-id"]')).trim() === id, 'the lead page shows another lead id');
    await page.waitForSelector('[data-testid="score"] [data-testid="score-line"]', { timeout: 5_000 })
      .catch(() => { throw new Failure('the lead page shows no score with if lines'); });
    const lines = await page.$$eval('[data-testid="score-line"]', (els) => els.map((el) => ({
      cls: el.className, counted: el.dataset.counted, mark: el.querySelector('.mark') ? el.querySelector('.mark').textContent : '',
    })));
    for (const l of lines) {
      const ok = (l.counted === 'true' && /\bcounted\b/.test(l.cls) && l.mark.includes('✓'))
        || (l.counted === 'false' && /\bnot-counted\b/.test(l.cls) && l.mark.includes('✗'));
      check(ok, `a score line has no clear counted / not counted marker: ${JSON.stringify(l)}`);
    }
    check(lines.some((l) => l.counted === 'true'), 'no score line is marked as counted (the test lead has company_size 350 and a target industry)');
    const lead = await api('GET', `/api/leads/${encodeURIComponent(id)}`);
    const apiWithLines = lead.scores.filter((s) => s.lines.length).length;
    const pageWithLines = await page.$$eval('[data-testid="score"]', (els) => els.filter((e) => e.querySelector('[data-testid="score-line"]')).length);
    check(pageWithLines === apiWithLines, `the page shows ${pageWithLines} score(s) with lines, the API has ${apiWithLines}`);
    check(lines.length === lead.scores.reduce((a, s) => a + s.lines.length, 0), `the page shows ${lines.length} score lines, the API has ${lead.scores.reduce((a, s) => a + s.lines.length, 0)}`);
    check((await page.getAttribute('[data-testid="lead-stage"]', 'data-value')) === lead.stage, `the page's stage differs from the API's (${lead.stage})`);
    check((await page.textContent('[data-testid="lead-stage"]')).trim() !== '', 'the lead page shows no stage name');
    log(`   ${lead.scores.length} score(s), ${lines.length} if line(s), ${lines.filter((l) => l.counted === 'true').length} counted; stage ${lead.stage}`);
  });
  await shot(page, 'lead');

  await step('switching to English changes the headings', async () => {
    const before = (await page.textContent('#lead-scores-title')).trim();
    await page.click('.lang button[data-lang="en"]');
    await page.waitForFunction((b) => document.querySelector('#lead-scores-title').textContent.trim() !== b, before, { timeout: 2_000 })
      .catch(() => { throw new Failure(`the scores heading stayed "${before}" after choosing EN`); });
    const after = (await page.textContent('#lead-scores-title')).trim();
    check(after === 'Scores', `the scores heading in English is "${after}", expected "Scores"`);
    check(await page.evaluate(() => document.documentElement.lang) === 'en', '<html lang> is not "en"');
    log(`   "${before}" → "${after}"`);
    await shot(page, 'lead-en');
    await page.click('[data-testid="back"]');
    await page.waitForSelector('#funnel-title', { timeout: 3_000 });
    const funnel = (await page.textContent('#funnel-title')).trim();
    check(funnel === 'Funnel', `the funnel heading in English is "${funnel}"`);
    await page.waitForSelector('[data-testid^="funnel-current-"]', { timeout: 3_000 });
    await shot(page, 'overview-en');
  });

  // A lead whose id and name are markup: wherever the page shows them, they must stay text.
  const HOSTILE = '<img src=x onerror=alert(1)>';
  await step('webhook trouble shows in the delivery-health panel, escaped; Re-deliver and Resume work', async () => {
    receiver = await startReceiver();
    const down = await freePort(); // nothing listens there: every attempt fails until the window ends
    const files = await programFiles();
    files['tandem.toml'] = '[webhooks]\n'
      + `crm_bounce = { url = "http://127.0.0.1:${receiver.port}/hook", events = ["lead_updated"] }\n`
      + `crm_down = { url = "http://127.0.0.1:${down}/hook", events = ["lead_updated"] }\n`;
    const reload = await api('POST', '/api/program', { files });
    log(`   program version ${reload.version}: two webhooks subscribed to lead_updated`);
    await api('POST', '/api/leads', {
      id: HOSTILE,
      fields: { name: HOSTILE, email: 'hostile@saoviet.vn', company: 'Sao Việt Logistics', company_size: 120, industry: 'logistics', source: 'website', timezone: daytimeZone() },
    });
    await api('POST', '/api/events', { lead: HOSTILE, event: 'form_submitted', props: { form: 'ebook_chuyen_doi_so', page: '/ebook' } });
    await api('POST', '/api/leads', { id: HOSTILE, fields: { title: 'Giám đốc' } }); // lead_updated: one delivery per webhook

    await page.waitForSelector('[data-testid="webhook-paused"][data-webhook="crm_down"]', { timeout: 10_000 })
      .catch(() => { throw new Failure('no alert for the paused webhook crm_down within 10 s'); });
    const alert = await page.textContent('[data-testid="webhook-paused"][data-webhook="crm_down"]');
    check(alert.includes('crm_down') && /Paused since/.test(alert) && /every attempt failed/.test(alert), `the alert does not say which webhook is paused, since when and why: ${alert}`);
    const readRows = () => page.$$eval('[data-testid="webhook-failure-row"]', (els) => els.map((tr) => {
      const a = tr.querySelector('[data-testid="webhook-failure-lead"]');
      return {
        id: tr.dataset.id, webhook: tr.querySelector('code').textContent, lead: a && a.textContent, href: a && a.getAttribute('href'),
        status: tr.querySelector('[data-testid="webhook-failure-status"]').textContent.trim(),
        error: tr.querySelector('[data-testid="webhook-failure-error"]').textContent,
      };
    }));
    let rows = [];
    let fails = null;
    for (const deadline = Date.now() + 5_000; ;) {
      rows = await readRows();
      fails = await api('GET', '/api/webhooks/failures?limit=5');
      const same = rows.length === fails.failures.length && rows.every((r, i) => r.id === fails.failures[i].id);
      if (same && ['crm_bounce', 'crm_down'].every((w) => rows.some((r) => r.webhook === w))) break;
      check(Date.now() < deadline, `the failures on the page ${JSON.stringify(rows.map((r) => [r.webhook, r.id]))} differ from the API's ${JSON.stringify(fails.failures.map((f) => [f.webhook, f.id]))}`);
      await sleep(100);
    }
    const bounce = rows.find((r) => r.webhook === 'crm_bounce');
    check(bounce.lead === HOSTILE, `the failure's lead shows as ${JSON.stringify(bounce.lead)}, not as the text ${HOSTILE}`);
    check(bounce.href === '#/lead/' + encodeURIComponent(HOSTILE), `the failure's lead link is ${bounce.href}`);
    check(bounce.status === '400', `the refused delivery's last status shows as ${bounce.status}`);
    check(await page.$$eval('#delivery img', (els) => els.length) === 0, 'an <img> element is in the delivery panel: data from the API was parsed as HTML');
    const failed = await page.getAttribute('[data-testid="webhooks-failed"]', 'data-value');
    check(Number(failed) >= 2, `the panel counts ${failed} failed deliveries`);
    log(`   ${rows.length} failure(s) shown, ${failed} failed in all; crm_down paused`);
    await shot(page, 'delivery-health');

    const before = receiver.count;
    const row = page.locator('[data-testid="webhook-failure-row"]').filter({ has: page.locator('code', { hasText: 'crm_bounce' }) });
    await row.locator('[data-testid="webhook-redeliver"]').click();
    await page.waitForFunction(() => /queued again/.test(document.querySelector('[data-testid="delivery-notice"]').textContent), null, { timeout: 3_000 })
      .catch(() => { throw new Failure('no confirmation after Re-deliver'); });
    for (const t0 = Date.now(); receiver.count <= before;) {
      check(Date.now() - t0 < 5_000, 'the re-delivered webhook was not POSTed again within 5 s');
      await sleep(50);
    }
    await page.click('[data-testid="webhook-paused"][data-webhook="crm_down"] [data-testid="webhook-resume"]');
    await page.waitForSelector('[data-testid="webhook-paused"][data-webhook="crm_down"]', { state: 'detached', timeout: 5_000 })
      .catch(() => { throw new Failure('the paused alert stayed after Resume'); });
    const hooks = await api('GET', '/api/webhooks');
    check(hooks.endpoints.find((e) => e.name === 'crm_down').paused === null, 'crm_down is still paused after Resume');
  });

  await step("the hostile lead's page shows its last email in a sandboxed iframe and as text", async () => {
    const lead = await api('GET', `/api/leads/${encodeURIComponent(HOSTILE)}`);
    check(lead.timeline.some((l) => l.kind === 'email_sent'), `no email was sent to the test lead (its timeline: ${lead.timeline.map((l) => l.kind).join(', ')})`);
    const mail = await api('GET', `/api/leads/${encodeURIComponent(HOSTILE)}/last_email`);
    check(!/\/t\/[oc]\?/.test(mail.html), 'the last email\'s HTML still carries the open pixel or click redirects');
    await page.locator('[data-testid="webhook-failure-lead"]').first().click();
    await page.waitForFunction((v) => decodeURIComponent(window.location.hash) === `#/lead/${v}`, HOSTILE, { timeout: 2_000 });
    await page.waitForSelector('[data-testid="last-email-html"]', { timeout: 5_000 })
      .catch(() => { throw new Failure('the lead page shows no last email'); });
    const frame = await page.$eval('[data-testid="last-email-html"]', (el) => ({ tag: el.tagName, sandbox: el.getAttribute('sandbox'), srcdoc: el.srcdoc }));
    check(frame.tag === 'IFRAME' && frame.sandbox === '', `the email is not in an iframe sandboxed without allowances: ${frame.tag} sandbox=${frame.sandbox}`);
    check(frame.srcdoc === mail.html, 'the iframe does not hold the HTML GET /api/leads/{id}/last_email answered');
    check((await page.textContent('[data-testid="last-email-subject"]')) === mail.subject, 'the subject differs from the API\'s');
    check((await page.getAttribute('[data-testid="last-email-status"]', 'data-value')) === mail.status, 'the status differs from the API\'s');
    check((await page.textContent('[data-testid="lead-title"]')).trim() === HOSTILE, 'the lead\'s name is not shown as text');
    check(await page.$$eval('#view-lead img', (els) => els.length) === 0, 'an <img> element is on the lead page: lead data was parsed as HTML');
    const inside = page.frameLocator('[data-testid="last-email-html"]');
    const body = await inside.locator('body').textContent({ timeout: 3_000 });
    check(body.includes(`Chào ${HOSTILE}`), `the email does not greet the lead by its name as text: ${body.slice(0, 200)}`);
    check(await inside.locator('img').count() === 0, 'the shown email holds an <img> (the open pixel, or the name parsed as HTML)');
    await page.click('[data-testid="email-view-text"]');
    check(await page.isHidden('[data-testid="last-email-html"]') && await page.isVisible('[data-testid="last-email-text"]'), 'the text toggle does not show the text part instead of the HTML');
    check((await page.textContent('[data-testid="last-email-text"]')) === mail.text, 'the text part differs from the API\'s');
    await page.click('[data-testid="email-view-html"]');
    check(await page.isVisible('[data-testid="last-email-html"]'), 'the HTML toggle does not bring the iframe back');
    await sleep(500);
    const after = await api('GET', `/api/leads/${encodeURIComponent(HOSTILE)}`);
    check(!after.timeline.some((l) => l.kind === 'event' && l.event === 'email_opened'), 'showing the email on the dashboard recorded an open');
    log(`   ${mail.template} (${mail.status}): "${mail.subject}"`);
    await shot(page, 'lead-email');
  });

  await step('no console error or warning', async () => {
    check(consoleProblems.length === 0, `the page logged:\n  ${consoleProblems.join('\n  ')}`);
  });
}

async function cleanup() {
  if (browser) { await browser.close().catch(() => {}); browser = null; }
  if (receiver) { receiver.server.closeAllConnections(); receiver.server.close(); receiver = null; }
  await stopServer();
}

let finished = false;
const watchdog = setTimeout(async () => {
  if (finished) return;
  console.error(`FAIL: the browser test took longer than ${TOTAL_MS / 1000} s`);
  await cleanup();
  process.exit(1);
}, TOTAL_MS);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { await cleanup(); process.exit(130); });
}

let code = 0;
try {
  await run();
} catch (e) {
  code = 1;
  console.error(`FAIL: ${e instanceof Failure ? e.message : (e && e.stack) || e}`);
  if (server && !(e instanceof Failure && /server/.test(e.message))) console.error(`--- last server output ---\n${server.logTail().slice(-1500)}`);
}
finished = true;
clearTimeout(watchdog);
await cleanup();
console.log(`browser: ${passed} passed, ${code ? 1 : 0} failed`);
log(code ? 'FAILED' : 'all checks passed');
process.exit(code);
