#!/usr/bin/env python3
"""Times `tandem backtest` (release build) as a user runs it: a store written by `tandem run journeys/`
(LEADS leads, then EVENTS events in batches through the API), then the example program with the
MQL engagement bar lowered replayed over that history. Whole process, /usr/bin/time -v.

Usage: cargo build --release && python3 bench/backtest.py [--leads 2000] [--events 100000]
"""
import argparse, http.client, json, os, re, shutil, subprocess, tempfile, time

from tandem_service import ROOT, call, create_leads, service

ap = argparse.ArgumentParser()
ap.add_argument("--leads", type=int, default=2000)
ap.add_argument("--events", type=int, default=100000)
ap.add_argument("--batch", type=int, default=1000)
a = ap.parse_args()

keep = tempfile.mkdtemp(prefix="tandem-backtest-")
with service(keep=keep) as (port, hdr):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    create_leads(c, hdr, a.leads, "b")
    kinds = [("page_viewed", {"url": "/blog"}), ("email_opened", {"template": "ebook_delivery"}),
             ("page_viewed", {"url": "/bang-gia"})]
    for b in range(a.events // a.batch):
        items = [{"lead": f"b{(b * a.batch + k) % a.leads}", "event": kinds[k % 3][0], "props": kinds[k % 3][1]}
                 for k in range(a.batch)]
        call(c, hdr, "POST", "/api/events", json.dumps(items))

new = os.path.join(keep, "new")
shutil.copytree(os.path.join(ROOT, "journeys"), new)
rules = os.path.join(new, "rules.journey")
text = open(rules).read().replace("score.engagement >= 30", "score.engagement >= 0")
open(rules, "w").write(text)

tandem = os.environ.get("TANDEM_BIN") or os.path.join(ROOT, "target", "release", "tandem")
t = time.perf_counter()
r = subprocess.run(["/usr/bin/time", "-v", tandem, "backtest", new, "--store", os.path.join(keep, "tandem.db"),
                    "--format", "json"], capture_output=True, text=True)
el = time.perf_counter() - t
if r.returncode != 0:
    raise SystemExit(r.stderr)
v = json.loads(r.stdout)
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
inputs = v["history"]["inputs"]
mql = next(row for row in v["report"]["rows"] if row["what"] == "reached mql")
print(f"{inputs} recorded inputs of {v['history']['leads']} leads replayed under two programs: "
      f"{el:.2f} s, {inputs / el:,.0f} inputs/s per program pair; max RSS {rss / 1024:.0f} MiB; "
      f"reached mql {mql['recorded']} → {mql['new']}, {v['report']['leads_differing']} leads differ")
shutil.rmtree(keep, ignore_errors=True)
