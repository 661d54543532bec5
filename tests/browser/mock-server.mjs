#!/usr/bin/env node
// A stand-in for `tandem run --demo` while the real dashboard API is being written.
// It serves service/assets/ and the dashboard API in the shape of the contract, from a small
// simulation of the example program (Acme Cloud Việt Nam), plus an SSE stream.
//
//   node mock-server.mjs run [--demo] [--listen 127.0.0.1:8080]
//
// Like the real service it writes the admin token to ./tandem.token and prints
// "tandem: serving on http://ADDR". Only meant for developing the UI and the browser test.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ASSETS = path.resolve(HERE, '../../service/assets');
const TZ = 'Asia/Ho_Chi_Minh';
const TZ_OFFSET_S = 7 * 3600; // no DST in Việt Nam

// ------------------------------------------------------------------ arguments

const args = process.argv.slice(2);
let listen = '127.0.0.1:8080';
let demo = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--listen') listen = args[++i];
  else if (args[i] === '--demo') demo = true;
}
const [host, portText] = listen.split(/:(?=\d+$)/);

let token = '';
try { token = fs.readFileSync('tandem.token', 'utf8').trim(); } catch (_) { /* new */ }
if (!token) {
  token = crypto.randomBytes(24).toString('hex');
  fs.writeFileSync('tandem.token', token + '\n', { mode: 0o600 });
  console.error(`admin API token (kept in ./tandem.token): ${token}`);
}

// ------------------------------------------------------------------ program facts

const STAGES = ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'];
const ALL_STAGES = [...STAGES, 'disqualified'];
const TARGET_INDUSTRIES = ['saas', 'fintech', 'logistics', 'retail', 'ecommerce', 'manufacturing'];
const FREE_MAIL = ['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'yahoo.com.vn'];
const PRIORITY_CITIES = ['Hồ Chí Minh', 'Hà Nội', 'Đà Nẵng'];
const REPS = ['an.nguyen@acme.vn', 'binh.tran@acme.vn', 'chi.le@acme.vn'];
const REASONS = ['not_icp', 'no_budget', 'bad_timing', 'unreachable', 'competitor', 'duplicate'];
const JOURNEYS = {
  ebook_nurture: ['send ebook_delivery', 'wait 2 days', 'if clicked(ebook_delivery) { … }', 'wait for email_clicked … up to 5 days', 'wait until weekday 9:00', 'split { 50% … 50% … }'],
  trial_onboarding: ['send trial_welcome', 'wait 1 day', 'send trial_tips', 'wait 3 days', 'send trial_consultation'],
  webinar_followup: ['send webinar_recording', 'wait 2 days', 'send case_study'],
  recycle_nurture: ['wait 30 days', 'send recycle_checkin', 'wait for email_clicked … up to 14 days'],
  reengagement: ['send we_miss_you', 'wait for email_clicked … up to 10 days'],
  customer_onboarding: ['send customer_welcome', 'wait 30 days', 'send customer_checkin'],
};
const FIRST = ['An', 'Bình', 'Chi', 'Dũng', 'Hà', 'Hùng', 'Lan', 'Minh', 'Ngọc', 'Phương', 'Quân', 'Thảo', 'Trang', 'Tuấn', 'Vy'];
const LAST = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Võ', 'Đặng', 'Bùi'];
const COMPANIES = ['Sao Việt Logistics', 'Minh Phát Retail', 'Hòa Bình Fintech', 'Đại Dương Edu', 'Phú Gia SaaS', 'Tân Cảng Freight'];
const INDUSTRIES = ['logistics', 'retail', 'fintech', 'edu', 'saas'];
const SOURCES = ['website', 'webinar', 'referral', 'ads', 'ebook'];
const TITLES = ['Giám đốc', 'Trưởng phòng IT', 'Nhân viên', 'CEO', 'Kế toán trưởng'];
const CITIES = ['Hồ Chí Minh', 'Hà Nội', 'Đà Nẵng', 'Cần Thơ', 'Hải Phòng'];

let seed = 12345;
function rnd(n) { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor((seed / 2147483648) * n); }
const pick = (a) => a[rnd(a.length)];

// ------------------------------------------------------------------ state

const leads = new Map();
const timeline = []; // every line, oldest first
const tasks = [];
let version = 1;
let programVersion = 1;
const mails = new Map(); // the last email of each lead (GET /api/leads/{id}/last_email)
const hookEndpoints = new Map(); // webhooks of the tandem.toml given to POST /api/program
const deliveries = []; // their deliveries, oldest first
let rr = 0;
let simClock = null; // set while the history is seeded; otherwise the real clock
const nowS = () => simClock ?? Math.floor(Date.now() / 1000);
const iso = (s) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function line(lead, kind, extra = {}) {
  const l = { at: iso(nowS()), lead, kind, ...extra };
  l._t = nowS();
  timeline.push(l);
  afterLine(l);
  return l;
}

function fitLines(f) {
  const size = typeof f.company_size === 'number' ? f.company_size : null;
  const email = f.email || '';
  const domain = email.split('@')[1] || '';
  const business = email !== '' && !FREE_MAIL.includes(domain);
  const dm = /giam doc|truong phong|director|head of|\b(ceo|cto|cfo|coo|founder)\b/.test(
    String(f.title || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase());
  return [
    { points: 25, if: 'company_size >= 200', counted: size != null && size >= 200 },
    { points: 15, if: 'company_size between 50 and 199', counted: size != null && size >= 50 && size <= 199 },
    { points: 20, if: 'lower(industry) in target_industries', counted: TARGET_INDUSTRIES.includes(String(f.industry || '').toLowerCase()) },
    { points: 15, if: 'decision_maker', counted: dm },
    { points: 10, if: 'budget_vnd >= min_budget_vnd', counted: typeof f.budget_vnd === 'number' && f.budget_vnd >= 100000000 },
    { points: 5, if: 'city in priority_cities', counted: PRIORITY_CITIES.includes(f.city) },
    { points: -30, if: 'not business_email', counted: !business },
  ];
}
const clamp = (v) => Math.max(0, Math.min(100, v));
function fitOf(L) { return clamp(fitLines(L.fields).reduce((a, l) => a + (l.counted ? l.points : 0), 0)); }

function setStage(L, to, cause) {
  if (L.stage === to) return;
  const from = L.stage;
  L.stage = to;
  L.stage_cause = cause;
  L.stageTimes.push({ stage: to, t: nowS() });
  line(L.id, 'stage_changed', { from, to });
  if (to === 'mql') createTask(L);
  if (to === 'customer') enter(L, 'customer_onboarding');
}

function enter(L, j) {
  if (L.journeys.some((x) => x.journey === j)) return;
  L.journeys.push({ journey: j, step: JOURNEYS[j][0], state: 'running', stepIndex: 0 });
  L.journeyHistory.push(j);
  line(L.id, 'journey_entered', { journey: j });
  advance(L, L.journeys[L.journeys.length - 1]);
}

function advance(L, J) {
  const steps = JOURNEYS[J.journey];
  while (J.stepIndex < steps.length) {
    const s = steps[J.stepIndex];
    J.step = s;
    let m;
    if ((m = /^send (\w+)/.exec(s))) {
      if (L.fields.unsubscribed) line(L.id, 'email_suppressed', { template: m[1], reason: 'unsubscribed', journey: J.journey });
      else line(L.id, 'email_sent', { template: m[1], subject: subjectFor(m[1], L), journey: J.journey });
      J.stepIndex++;
      continue;
    }
    if ((m = /^wait (\d+) days?/.exec(s))) { J.state = `waiting ${Number(m[1]) * 86400} s (\`wait\`)`; J.until = nowS() + Number(m[1]) * 86400; return; }
    if (/^wait until/.test(s)) { J.state = 'waiting until 9:00 (`wait until`)'; J.until = nowS() + 3600 * 12; return; }
    if (/^wait for/.test(s)) { J.state = 'waiting for `email_clicked`'; J.until = nowS() + 5 * 86400; return; }
    J.stepIndex++;
  }
  // finished
  L.journeys = L.journeys.filter((x) => x !== J);
  line(L.id, 'journey_exited', { journey: J.journey, reason: 'completed' });
}

function subjectFor(tpl, L) {
  const name = L.fields.name || L.id;
  const subjects = {
    ebook_delivery: `${name}, ebook “Chuyển đổi số cho doanh nghiệp vừa” của bạn đây`,
    case_study: 'Sao Việt Logistics giảm 30% thời gian giao hàng như thế nào',
    ebook_reminder: 'Bạn đã đọc ebook chưa?',
  };
  return subjects[tpl] || `Acme Cloud: ${tpl}`;
}

function createTask(L) {
  const n = tasks.filter((k) => k.lead === L.id).length + 1;
  const assignee = REPS[rr++ % REPS.length];
  const task = { id: `${L.id}:to_sales:${n}`, lead: L.id, handoff: 'to_sales', team: 'sales_hcm', assignee, status: 'open', reason: null, created_at: nowS(), accepted_at: null };
  tasks.push(task);
  line(L.id, 'task_created', { handoff: 'to_sales', task: task.id, team: 'sales_hcm', assignee });
}

function qualify(L) {
  if (L.stage === 'lead' && fitOf(L) >= 40 && L.engagement >= 30 && !L.fields.tags.includes('recycled')) {
    line(L.id, 'rule_fired', { rule: 'qualify_mql' });
    setStage(L, 'mql', 'rule `qualify_mql`');
  }
}

function upsert(id, fields) {
  let L = leads.get(id);
  if (!L) {
    L = {
      id, fields: { country: 'VN', tags: [], unsubscribed: false, bounced: false, ...fields },
      stage: 'subscriber', stage_cause: "the lead's creation",
      stageTimes: [], journeys: [], journeyHistory: [], engagement: 0, created: nowS(),
    };
    L.fields.created_at = iso(nowS());
    L.stageTimes.push({ stage: L.stage, t: nowS() });
    leads.set(id, L);
    line(id, 'lead_created');
    const fit = fitOf(L);
    if (fit) line(id, 'score_changed', { score: 'fit', value: fit });
    if (fields.stage) setStage(L, fields.stage, 'an update input');
    else if (fields.company) setStage(L, 'lead', "the lead's creation");
  } else {
    const before = fitOf(L);
    Object.assign(L.fields, fields);
    line(id, 'lead_updated', { fields });
    if (fields.stage) setStage(L, fields.stage, 'an update input');
    const fit = fitOf(L);
    if (fit !== before) line(id, 'score_changed', { score: 'fit', value: fit });
  }
  qualify(L);
  return L;
}

function event(id, name, props = {}) {
  const L = leads.get(id);
  line(id, 'event', { event: name, props });
  let pts = 0;
  if (name === 'email_opened') pts = 3;
  if (name === 'email_clicked') pts = 8;
  if (name === 'page_viewed') pts = 5 + (String(props.url || '').includes('/bang-gia') ? 15 : 0);
  if (name === 'form_submitted' && props.form === 'demo_request') pts = 40;
  if (name === 'webinar_attended') pts = props.minutes >= 30 ? 20 : 10;
  if (name === 'trial_started') pts = 25;
  if (pts) {
    L.engagement = clamp(L.engagement + pts);
    line(id, 'score_changed', { score: 'engagement', value: L.engagement });
  }
  if (name === 'form_submitted' && props.form === 'ebook_chuyen_doi_so') enter(L, 'ebook_nurture');
  if (name === 'trial_started') enter(L, 'trial_onboarding');
  if (name === 'webinar_attended') enter(L, 'webinar_followup');
  if (name === 'email_clicked') {
    for (const J of L.journeys) if (/^wait for email_clicked/.test(J.step)) { J.stepIndex++; advance(L, J); }
  }
  if (name === 'email_bounced') { L.fields.bounced = true; }
  if (name === 'unsubscribed') { L.fields.unsubscribed = true; }
  qualify(L);
}

function actTask(task, action, reason) {
  const L = leads.get(task.lead);
  const by = task.assignee;
  if (action === 'accept') {
    task.status = 'accepted'; task.accepted_at = nowS();
    line(L.id, 'task_accepted', { handoff: 'to_sales', task: task.id, by });
    setStage(L, 'sql', 'handoff `to_sales` (accept)');
  } else {
    task.status = 'rejected'; task.reason = reason;
    line(L.id, 'task_rejected', { handoff: 'to_sales', task: task.id, by, reason });
    setStage(L, 'lead', 'handoff `to_sales` (reject)');
    L.fields.last_reject_reason = reason;
    L.fields.tags = [...new Set([...L.fields.tags, 'recycled'])].sort();
    line(L.id, 'tag_added', { tag: 'recycled' });
    enter(L, 'recycle_nurture');
  }
}

function timers() {
  for (const L of leads.values()) {
    for (const J of [...L.journeys]) {
      if (J.until && J.until <= nowS()) { J.until = null; J.stepIndex++; J.state = 'running'; advance(L, J); }
    }
  }
}

let demoN = 0;
const RUN = Math.floor(Date.now() / 1000);
function demoTick() {
  demoN++;
  const id = `demo-${RUN}-${demoN}`;
  const name = `${pick(LAST)} ${pick(FIRST)}`;
  const domain = rnd(4) === 0 ? 'gmail.com' : `cty${rnd(97)}.vn`;
  upsert(id, {
    name, email: `lead${demoN}@${domain}`, company: rnd(5) ? pick(COMPANIES) : undefined, company_size: 10 + rnd(3000),
    industry: pick(INDUSTRIES), title: pick(TITLES), source: pick(SOURCES), city: pick(CITIES),
  });
  const ids = [...leads.keys()];
  for (let i = rnd(4); i > 0; i--) {
    const lid = ids[Math.max(0, ids.length - 1 - rnd(Math.min(40, ids.length)))];
    const r = rnd(5);
    if (r === 0) event(lid, 'form_submitted', { form: pick(['ebook_chuyen_doi_so', 'demo_request', 'lien_he']), page: '/ebook' });
    else if (r === 1) event(lid, 'page_viewed', { url: pick(['/bang-gia', '/blog', '/tinh-nang']) });
    else if (r === 2 || r === 3) {
      // opens and clicks only for email the lead was sent
      const sent = timeline.filter((l) => l.lead === lid && l.kind === 'email_sent').map((l) => l.template);
      if (sent.length && r === 2) event(lid, 'email_opened', { template: pick(sent) });
      else if (sent.length && rnd(2)) event(lid, 'email_clicked', { template: pick(sent), url: 'https://acme.vn/khach-hang' });
    }
    else if (r === 4) {
      const open = tasks.filter((k) => k.status === 'open');
      if (open.length) { const k = pick(open); actTask(k, rnd(3) ? 'accept' : 'reject', pick(REASONS)); }
    }
  }
  const sqls = [...leads.values()].filter((x) => x.stage === 'sql' || x.stage === 'opportunity');
  if (sqls.length && rnd(12) === 0) { const L = pick(sqls); setStage(L, L.stage === 'sql' ? 'opportunity' : 'customer', 'an update input'); }
  if (rnd(40) === 0) { const L = pick([...leads.values()]); if (L.stage === 'subscriber' || L.stage === 'lead') setStage(L, 'disqualified', 'an update input'); }
  timers();
}

// Seed: 40 days of history, one lead every ~2.5 hours, then back to real time.
{
  const realNow = Math.floor(Date.now() / 1000);
  for (simClock = realNow - 40 * 86400; simClock < realNow - 60; simClock += 9000) demoTick();
  simClock = null;
}

// ------------------------------------------------------------------ read models

function dayOf(s) { return new Date((s + TZ_OFFSET_S) * 1000).toISOString().slice(0, 10); }
function dayStart(day) { return Date.parse(day + 'T00:00:00Z') / 1000 - TZ_OFFSET_S; }
function addDays(day, n) { return new Date(Date.parse(day + 'T00:00:00Z') + n * 86400000).toISOString().slice(0, 10); }

function emptyStages() { return Object.fromEntries(ALL_STAGES.map((s) => [s, 0])); }

function summary(from, to) {
  const t0 = dayStart(from), t1 = dayStart(addDays(to, 1));
  const inP = (t) => t >= t0 && t < t1;
  const current = Object.fromEntries(ALL_STAGES.map((s) => [s, 0]));
  const reached = emptyStages();
  const bySource = new Map(), byJourney = new Map();
  for (const L of leads.values()) {
    current[L.stage]++;
    const got = new Set(L.stageTimes.filter((x) => inP(x.t)).map((x) => x.stage));
    const src = L.fields.source || '';
    const jk = L.journeyHistory[0] || '';
    for (const [map, key] of [[bySource, src], [byJourney, jk]]) if (!map.has(key)) map.set(key, emptyStages());
    for (const s of got) { reached[s]++; bySource.get(src)[s]++; byJourney.get(jk)[s]++; }
  }
  const conversion = STAGES.slice(0, -1).map((s, i) => ({ from: s, to: STAGES[i + 1], rate: reached[s] ? reached[STAGES[i + 1]] / reached[s] : null }));
  const lines = timeline.filter((l) => inP(l._t));
  const journeys = Object.keys(JOURNEYS).map((name) => ({
    name,
    active: [...leads.values()].filter((L) => L.journeys.some((j) => j.journey === name)).length,
    entered: lines.filter((l) => l.kind === 'journey_entered' && l.journey === name).length,
    completed: lines.filter((l) => l.kind === 'journey_exited' && l.journey === name && l.reason === 'completed').length,
    exited: lines.filter((l) => l.kind === 'journey_exited' && l.journey === name && l.reason === 'exit').length,
    goal: lines.filter((l) => l.kind === 'journey_exited' && l.journey === name && l.reason === 'goal').length,
  }));
  const email = new Map();
  const em = (tpl) => { if (!email.has(tpl)) email.set(tpl, { template: tpl, sent: 0, opened: 0, clicked: 0, bounced: 0, suppressed: 0 }); return email.get(tpl); };
  for (const l of lines) {
    if (l.kind === 'email_sent') em(l.template).sent++;
    if (l.kind === 'email_suppressed') em(l.template).suppressed++;
    if (l.kind === 'event' && l.event === 'email_opened') em(l.props.template).opened++;
    if (l.kind === 'event' && l.event === 'email_clicked') em(l.props.template).clicked++;
    if (l.kind === 'event' && l.event === 'email_bounced') em(l.props.template).bounced++;
  }
  const reps = REPS.map((a) => {
    const mine = tasks.filter((k) => k.assignee === a);
    return {
      team: 'sales_hcm', assignee: a,
      open: mine.filter((k) => k.status === 'open').length,
      accepted: mine.filter((k) => k.status === 'accepted' && inP(k.accepted_at)).length,
      rejected: mine.filter((k) => k.status === 'rejected' && inP(k.created_at)).length,
      overdue: mine.filter((k) => k.status === 'open' && nowS() - k.created_at > 4 * 3600).length,
    };
  });
  const waits = tasks.filter((k) => k.accepted_at && inP(k.accepted_at)).map((k) => k.accepted_at - k.created_at).sort((a, b) => a - b);
  const median = waits.length ? waits[Math.floor(waits.length / 2)] : null;
  const reasons = new Map();
  for (const k of tasks.filter((x) => x.status === 'rejected' && inP(x.created_at))) {
    const L = leads.get(k.lead);
    const key = [k.reason, L.fields.source || '', L.journeyHistory[0] || ''].join('|');
    if (!reasons.has(key)) reasons.set(key, { reason: k.reason, source: L.fields.source || '', journey: L.journeyHistory[0] || '', count: 0 });
    reasons.get(key).count++;
  }
  const recent = timeline.slice(-20).reverse().map((l) => ({ at: l.at, lead: l.lead, kind: l.kind, text: shortText(l) }));
  return {
    generated_at: iso(nowS()), timezone: TZ, version, mail_render_failures: 0,
    period: { from, to },
    funnel: {
      stages: STAGES, current, reached, conversion,
      by_source: [...bySource].map(([key, r]) => ({ key, reached: r })).sort((a, b) => a.key.localeCompare(b.key)),
      by_journey: [...byJourney].map(([key, r]) => ({ key, reached: r })).sort((a, b) => a.key.localeCompare(b.key)),
    },
    journeys,
    email: [...email.values()].sort((a, b) => a.template.localeCompare(b.template)),
    handoff: { reps, median_accept_seconds: median == null ? {} : { sales_hcm: median }, reasons: [...reasons.values()].sort((a, b) => b.count - a.count) },
    recent,
  };
}

function shortText(l) {
  switch (l.kind) {
    // the same short texts as the real service (service/src/dashboard.rs)
    case 'email_sent': return l.template;
    case 'email_suppressed': return `${l.template} (${l.reason})`;
    case 'event': return l.event;
    case 'score_changed': return `${l.score} = ${l.value}`;
    case 'stage_changed': return `${l.from} → ${l.to}`;
    case 'tag_added': case 'tag_removed': return l.tag;
    case 'journey_entered': return l.journey;
    case 'journey_exited': return `${l.journey} (${l.reason})`;
    case 'rule_fired': return l.rule;
    case 'task_created': return `${l.task} → ${l.assignee}`;
    case 'task_rejected': return `${l.task} (${l.reason})`;
    case 'task_accepted': return l.task;
    default: return '';
  }
}

function leadView(L) {
  const fit = fitLines(L.fields);
  const fitValue = fitOf(L);
  const mine = timeline.filter((l) => l.lead === L.id).slice(-50).map(({ _t, ...rest }) => rest);
  return {
    id: L.id,
    fields: { ...L.fields, stage: L.stage },
    stage: L.stage,
    stage_cause: L.stage_cause,
    scores: [
      { name: 'fit', value: fitValue, attribute_part: fit.reduce((a, l) => a + (l.counted ? l.points : 0), 0), event_part: 0, lines: fit },
      { name: 'engagement', value: L.engagement, attribute_part: 0, event_part: L.engagement, lines: [] },
    ],
    journeys: L.journeys.map((j) => ({ journey: j.journey, step: j.step, state: j.state })),
    timeline: mine, // oldest first, as docs/api.md says
    tasks: tasks.filter((k) => k.lead === L.id).map(({ lead, ...k }) => k),
  };
}

function svgFor(name) {
  const steps = JOURNEYS[name];
  const waiting = steps.map((s, i) => [...leads.values()].filter((L) => L.journeys.some((j) => j.journey === name && j.stepIndex === i)).length);
  const W = 560, BH = 44, GAP = 26, H = 30 + steps.length * (BH + GAP);
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  let y = 20;
  let body = '';
  steps.forEach((s, i) => {
    const isSplit = s.startsWith('split');
    body += `<rect x="60" y="${y}" width="${W - 200}" height="${BH}" rx="8" fill="${isSplit ? '#fff4e0' : '#e8f1ff'}" stroke="#0f6fde"/>`;
    body += `<text x="${60 + (W - 200) / 2}" y="${y + 27}" text-anchor="middle" font-family="sans-serif" font-size="14" fill="#1b2333">${esc(s)}</text>`;
    body += `<text x="${W - 125}" y="${y + 27}" font-family="sans-serif" font-size="13" fill="#12a37f">${waiting[i]} chờ</text>`;
    if (isSplit) body += `<text x="${W - 60}" y="${y + 27}" font-family="sans-serif" font-size="12" fill="#b26b00">50% / 50%</text>`;
    if (i < steps.length - 1) body += `<line x1="${60 + (W - 200) / 2}" y1="${y + BH}" x2="${60 + (W - 200) / 2}" y2="${y + BH + GAP}" stroke="#5b6578" stroke-width="1.5" marker-end="url(#arrow)"/>`;
    y += BH + GAP;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5b6578"/></marker></defs>
<title>${esc(name)}</title>
${body}
</svg>`;
}

const to0 = (url, today) => url.searchParams.get('to') || today;

// ------------------------------------------------------------------ emails and webhooks

const WINDOW_MS = 2000; // the webhook retry window (the real default is 28 hours)
function escHtml(s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'); }

function afterLine(l) {
  const L = leads.get(l.lead);
  if (l.kind === 'email_sent' && L) {
    const name = L.fields.name || L.id;
    mails.set(L.id, {
      template: l.template, subject: l.subject, from: 'Acme Cloud Việt Nam <marketing@acme.vn>', to: L.fields.email || '',
      status: 'sent', at: l.at,
      html: `<p>Chào ${escHtml(name)},</p>\n<p>Email <strong>${escHtml(l.template)}</strong> từ Acme Cloud. <a href="https://acme.vn/tai-lieu">Xem thêm</a></p>`,
      text: `Chào ${name},\n\nEmail ${l.template} từ Acme Cloud. Xem thêm: https://acme.vn/tai-lieu`,
    });
  }
  for (const e of hookEndpoints.values()) {
    if (!e.events.includes(l.kind)) continue;
    const now = Date.now();
    deliveries.push({
      id: crypto.createHash('sha256').update(`${e.name}|${l.kind}|${l.lead}|${timeline.length}`).digest('hex').slice(0, 32),
      webhook: e.name, lead: l.lead ?? null, kind: l.kind, at: l.at, status: 'pending', attempts: 0,
      last_status: null, error: null, window: now, next: now, log: [], inFlight: false,
      payload: { type: `lead.${l.kind}`, data: { lead: l.lead } },
    });
  }
}

// `name = { url = "…", events = ["…"] }` lines of [webhooks]: enough for the browser test.
function parseWebhooks(toml) {
  hookEndpoints.clear();
  let inTable = false;
  for (const raw of String(toml || '').split('\n')) {
    const ln = raw.trim();
    if (/^\[.*\]$/.test(ln)) { inTable = ln === '[webhooks]'; continue; }
    const m = inTable && /^(\w+)\s*=\s*\{\s*url\s*=\s*"([^"]+)"(?:\s*,\s*events\s*=\s*\[([^\]]*)\])?/.exec(ln);
    if (m) hookEndpoints.set(m[1], { name: m[1], url: m[2], events: (m[3] || '').split(',').map((x) => x.trim().replace(/^"|"$/g, '')).filter(Boolean), paused: null });
  }
}

// Delivers like the real service: 2xx sent, 4xx (but 408 and 429) failed at once, anything
// else retried until the window ends — then failed, and the endpoint paused.
setInterval(() => {
  const now = Date.now();
  for (const d of deliveries) {
    const e = hookEndpoints.get(d.webhook);
    if (d.status !== 'pending' || d.inFlight || d.next > now || !e || e.paused) continue;
    d.inFlight = true;
    fetch(e.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(d.payload), signal: AbortSignal.timeout(1000) })
      .then((r) => ({ status: r.status }), (x) => ({ status: null, error: String(x && x.cause && x.cause.code || x.message || x) }))
      .then(({ status, error }) => {
        const at = Date.now();
        d.inFlight = false;
        d.attempts++;
        d.last_status = status;
        let outcome;
        if (status != null && status >= 200 && status < 300) { d.status = 'sent'; d.error = null; outcome = 'sent'; }
        else if (status != null && status >= 400 && status < 500 && status !== 408 && status !== 429) { d.status = 'failed'; d.error = `the receiver answered ${status}`; outcome = 'failed'; }
        else if (at + 300 > d.window + WINDOW_MS) {
          d.status = 'failed';
          d.error = `${error || `HTTP ${status}`}; retried for ${WINDOW_MS / 1000} s, giving up`;
          outcome = 'failed';
          e.paused = { since: new Date(at).toISOString(), reason: `every attempt failed for ${WINDOW_MS / 1000} s; deliveries wait until the endpoint is resumed` };
        } else { d.error = error || `HTTP ${status}`; d.next = at + 300; outcome = 'retry'; }
        d.log.push({ at_ms: at, at: new Date(at).toISOString(), status, error: d.status === 'sent' ? null : d.error, outcome });
      });
  }
}, 100).unref();

function deliveryJson(d) {
  return {
    id: d.id, webhook: d.webhook, lead: d.lead, kind: d.kind, at: d.at, status: d.status, attempts: d.attempts,
    last_status: d.last_status, error: d.error, retry_window_started: new Date(d.window).toISOString(),
    next_attempt: d.status === 'pending' ? new Date(d.next).toISOString() : null, attempt_log: d.log, payload: d.payload,
  };
}

// ------------------------------------------------------------------ SSE

const clients = new Set();
let notifyTimer = null;
function changed() {
  version++;
  if (notifyTimer) return;
  notifyTimer = setTimeout(() => {
    notifyTimer = null;
    for (const res of clients) res.write(`event: update\ndata: {"version":${version}}\n\n`);
  }, 20);
}
setInterval(() => { for (const res of clients) res.write(': ping\n\n'); }, 15000).unref();

// ------------------------------------------------------------------ HTTP

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

function send(res, status, body, type = 'application/json') {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(data);
}
const err = (res, status, message) => send(res, status, { error: { message } });

function readBody(req) {
  return new Promise((resolve, reject) => {
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { b += c; });
    req.on('end', () => resolve(b));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  try {
    if (req.method === 'GET' && (p === '/' || p === '/app.js' || p === '/app.css')) {
      const file = p === '/' ? 'index.html' : p.slice(1);
      return send(res, 200, fs.readFileSync(path.join(ASSETS, file), 'utf8'), TYPES[path.extname(file)]);
    }
    if (p === '/healthz') return send(res, 200, 'ok', 'text/plain');
    if (p === '/api/stream') {
      if ((req.headers.authorization || '') !== `Bearer ${token}`) return err(res, 401, 'unknown token');
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(': hello\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (!p.startsWith('/api/')) return send(res, 404, 'not found', 'text/plain');
    const auth = req.headers.authorization || '';
    if (!auth.startsWith('Bearer ')) return err(res, 401, 'missing `Authorization: Bearer <token>`');
    if (auth.slice(7) !== token) return err(res, 401, 'unknown token');

    let m;
    if (req.method === 'GET' && p === '/api/dashboard/summary') {
      const today = dayOf(nowS());
      const from = url.searchParams.get('from') || addDays(to0(url, today), -29);
      const to = to0(url, today);
      for (const d of [from, to]) if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) return err(res, 400, `bad date \`${d}\``);
      return send(res, 200, summary(from, to));
    }
    if (req.method === 'GET' && (m = /^\/api\/dashboard\/journeys\/(.+)\.svg$/.exec(p))) {
      const name = decodeURIComponent(m[1]);
      if (!JOURNEYS[name]) return err(res, 404, `unknown journey \`${name}\``);
      return send(res, 200, svgFor(name), 'image/svg+xml');
    }
    if (req.method === 'GET' && (m = /^\/api\/leads\/(.+)\/last_email$/.exec(p))) {
      const id = decodeURIComponent(m[1]);
      const mail = mails.get(id);
      if (!mail) return err(res, 404, `no email was sent to the lead \`${id}\` (or there is no such lead)`);
      return send(res, 200, mail);
    }
    if (req.method === 'GET' && p === '/api/webhooks') {
      const count = (st) => deliveries.filter((d) => d.status === st).length;
      return send(res, 200, {
        endpoints: [...hookEndpoints.values()].map((e) => ({ name: e.name, url: e.url, signed: false, events: e.events, timeout_ms: 10000, max_in_flight: 4, per_second: null, paused: e.paused })),
        deliveries: { pending: count('pending'), sent: count('sent'), failed: count('failed') },
      });
    }
    if (req.method === 'GET' && p === '/api/webhooks/failures') {
      const limit = Number(url.searchParams.get('limit') || 100);
      const list = deliveries.filter((d) => d.status === 'failed').sort((a, b) => b.window - a.window || a.id.localeCompare(b.id));
      return send(res, 200, { failures: list.slice(0, limit).map(deliveryJson) });
    }
    if (req.method === 'POST' && (m = /^\/api\/webhooks\/deliveries\/([^/]+)\/redeliver$/.exec(p))) {
      const d = deliveries.find((x) => x.id === decodeURIComponent(m[1]));
      if (!d) return err(res, 404, `there is no webhook delivery \`${m[1]}\``);
      if (d.status !== 'failed') return err(res, 409, `delivery \`${d.id}\` is ${d.status}, not failed: only failed deliveries are re-delivered`);
      Object.assign(d, { status: 'pending', window: Date.now(), next: Date.now() });
      return send(res, 200, { requeued: 1 });
    }
    if (req.method === 'POST' && (m = /^\/api\/webhooks\/endpoints\/([^/]+)\/resume$/.exec(p))) {
      const e = hookEndpoints.get(decodeURIComponent(m[1]));
      if (!e) return err(res, 404, `the running program has no webhook \`${decodeURIComponent(m[1])}\``);
      e.paused = null;
      return send(res, 200, { resumed: e.name });
    }
    if (req.method === 'POST' && p === '/api/program') {
      const body = JSON.parse(await readBody(req));
      if (!body || typeof body.files !== 'object') return err(res, 400, '`files` is missing: an object of path → text');
      parseWebhooks(body.files['tandem.toml']);
      changed();
      return send(res, 200, { version: ++programVersion, changes: [] });
    }
    if (req.method === 'GET' && (m = /^\/api\/leads\/(.+)$/.exec(p))) {
      const id = decodeURIComponent(m[1]);
      const L = leads.get(id);
      if (!L) return err(res, 404, `unknown lead \`${id}\``);
      return send(res, 200, leadView(L));
    }
    if (req.method === 'POST' && p === '/api/leads') {
      const body = JSON.parse(await readBody(req));
      const items = Array.isArray(body) ? body : [body];
      for (const it of items) upsert(it.id, it.fields || {});
      changed();
      return send(res, 200, { applied: items.length });
    }
    if (req.method === 'POST' && p === '/api/events') {
      const body = JSON.parse(await readBody(req));
      const items = Array.isArray(body) ? body : [body];
      for (const [i, it] of items.entries()) if (!leads.has(it.lead)) return send(res, 404, { error: { message: `unknown lead \`${it.lead}\` (create it first)`, index: i } });
      for (const it of items) event(it.lead, it.event, it.props || {});
      changed();
      return send(res, 200, { applied: items.length });
    }
    return err(res, 404, 'not found');
  } catch (e) {
    return err(res, 400, String(e.message || e));
  }
});

server.listen(Number(portText), host, () => {
  console.error(`tandem: serving on http://${listen} (mock, store in memory)`);
});

if (demo) setInterval(() => { demoTick(); changed(); }, 1000);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    for (const res of clients) res.end();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  });
}
