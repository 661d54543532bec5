// Live-update weight of one open dashboard tab, as a browser measures it.
//
// Usage: node bench/live_bytes.mjs [--seconds 60] [--warmup 10] [--bin target/release/tandem]
//                                   [--url http://127.0.0.1:PORT --token TOKEN] [--loads 5]
// (run `npm ci` in tests/browser first: it uses that folder's playwright-core and Debian's
// /usr/bin/chromium). Starts `tandem run --demo` in a temp folder, opens the dashboard in
// headless Chromium (1440×900), waits --warmup seconds, then counts every byte the tab
// receives over the network (Chrome DevTools Protocol: encodedDataLength, i.e. after
// compression and including headers) for --seconds, while --demo keeps adding leads and
// events. Prints bytes per second and the requests made, by path. Also reports the first
// load: the time until the funnel is on the page, and the bytes of that load. With --url and
// --token it opens a service that is already running instead (bench/dashboard.py --browser
// does that with a million leads), and --loads N opens the page N times first, each in a
// fresh browser context (nothing cached), timing the funnel's first paint.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');
const { chromium } = await import(join(REPO, 'tests/browser/node_modules/playwright-core/index.mjs'));
const arg = (name, def) => { const i = process.argv.indexOf('--' + name); return i > 0 ? process.argv[i + 1] : def; };
const SECONDS = Number(arg('seconds', 60));
const WARMUP = Number(arg('warmup', 10));
const BIN = resolve(REPO, arg('bin', 'target/release/tandem'));
const LOADS = Number(arg('loads', 0));
let base = arg('url', null);
let token = arg('token', '');
let child = null;
if (!base) {
  if (!existsSync(BIN)) { console.error(`no ${BIN}: cargo build --release first (or --bin)`); process.exit(2); }
  const port = await new Promise((ok) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
  const dir = mkdtempSync(join(tmpdir(), 'tandem-live-'));
  child = spawn(BIN, ['run', '--demo', '--listen', `127.0.0.1:${port}`], { cwd: dir, stdio: 'ignore' });
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300 && !token; i++) { await sleep(100); try { token = readFileSync(join(dir, 'tandem.token'), 'utf8').trim(); } catch (_) { /* not yet */ } }
  for (let i = 0; i < 100; i++) { try { if ((await fetch(`${base}/healthz`)).ok) break; } catch (_) { /* not yet */ } await sleep(100); }
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
// First paint of the funnel, each load in a fresh context (cold cache).
const paints = [];
const dcls = []; // DOMContentLoaded: the page and its scripts loaded and run
for (let i = 0; i < LOADS; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const p = await ctx.newPage();
  await p.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('[data-testid^="funnel-current-"]')) { window.__funnelAt = performance.now(); obs.disconnect(); }
    }).observe(document, { childList: true, subtree: true });
  });
  await p.goto(`${base}/#token=${encodeURIComponent(token)}`);
  await p.waitForSelector('[data-testid^="funnel-current-"]');
  const t = await p.evaluate(() => ({
    funnel: window.__funnelAt,
    dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime,
  }));
  paints.push(t.funnel);
  dcls.push(t.dcl);
  await ctx.close();
}
if (LOADS) {
  paints.sort((a, b) => a - b);
  dcls.sort((a, b) => a - b);
  console.log(`first paint of the funnel (navigation start → funnel in the page), ${LOADS} cold loads: median ${paints[Math.floor(LOADS / 2)].toFixed(0)} ms, min ${paints[0].toFixed(0)}, max ${paints[LOADS - 1].toFixed(0)} ms; the page and its scripts loaded (DOMContentLoaded) at median ${dcls[Math.floor(LOADS / 2)].toFixed(0)} ms`);
}
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
const cdp = await page.context().newCDPSession(page);
await cdp.send('Network.enable');
const urls = new Map();
let counting = 'load', bytes = { load: 0, live: 0 };
const byPath = new Map();
const loadRequests = new Map(); // path → requests during the first load
const full = new Map();
cdp.on('Network.requestWillBeSent', (e) => { urls.set(e.requestId, new URL(e.request.url).pathname); full.set(e.requestId, e.request.url); });
const add = (id, n) => {
  bytes[counting] += n;
  if (counting === 'live') { const p = urls.get(id) || '?'; const r = byPath.get(p) || { bytes: 0, requests: 0 }; r.bytes += n; byPath.set(p, r); }
};
cdp.on('Network.dataReceived', (e) => { if (urls.get(e.requestId) === '/api/stream') add(e.requestId, e.encodedDataLength); });
cdp.on('Network.loadingFinished', (e) => {
  if (counting === 'load') { const p = urls.get(e.requestId) || '?'; loadRequests.set(p, (loadRequests.get(p) || 0) + 1); }
  if (urls.get(e.requestId) !== '/api/stream') {
    add(e.requestId, e.encodedDataLength);
    if (counting === 'live') byPath.get(urls.get(e.requestId) || '?').requests++;
    if (counting === 'live' && process.env.VERBOSE) console.log(e.encodedDataLength, full.get(e.requestId));
  }
});
const t0 = performance.now();
await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
await page.waitForSelector('[data-testid^="funnel-current-"]');
const firstMs = performance.now() - t0;
await sleep(1500); // the first load's requests that follow the funnel (diagram, tasks, webhooks)
const twice = [...loadRequests].filter(([, n]) => n > 1);
console.log(`first load requests: ${[...loadRequests].map(([p, n]) => `${p}${n > 1 ? ` ×${n}` : ''}`).join(', ')}${twice.length ? '' : ' (each once)'}`);
await page.waitForSelector('#live[data-state="on"]');
await sleep(WARMUP * 1000);
counting = 'live';
const since = performance.now();
await sleep(SECONDS * 1000);
const took = (performance.now() - since) / 1000;
const leads = await (await fetch(`${base}/api/leads?limit=1`, { headers: { Authorization: `Bearer ${token}` } })).json();
console.log(`first load: funnel on the page after ${firstMs.toFixed(0)} ms; ${(bytes.load / 1024).toFixed(1)} KiB received until the warm-up ended`);
console.log(`live: ${(bytes.live / took).toFixed(0)} bytes/s over ${took.toFixed(1)} s (${bytes.live} bytes; ${leads.total} leads at the end)`);
for (const [p, r] of [...byPath].sort((a, b) => b[1].bytes - a[1].bytes)) console.log(`  ${p.padEnd(48)} ${String(r.bytes).padStart(9)} bytes ${String(r.requests).padStart(5)} requests`);
await browser.close();
if (child) child.kill('SIGTERM');
