#!/usr/bin/env python3
"""Email delivery benchmark for `tandem run`: emails per second accepted by a local SMTP
relay (aiosmtpd on loopback), with DKIM signing off and on.

Usage: python3 bench/mail.py [--leads 20000] [--dkim off,rsa,ed25519] [--connections 8]
Starts target/release/tandem (build it first with `cargo build --release`) on a small
generated program — one journey that sends one email (the text of
journeys/templates/ebook_delivery.md) on an event — with `[smtp]` pointing at a relay that
runs in a process of its own (aiosmtpd; `pip install aiosmtpd`). It creates the leads,
then posts one event per lead in requests of 1,000 as fast as the service acknowledges
them; each acknowledged event has put one email in the outbox. The relay counts the
messages it accepts (and those carrying a DKIM-Signature header) with the time of each.
Reported per run: the relay's rate from its first to its last message, and the time from
the first event posted to the last message received. For DKIM a fresh key is made with
openssl (RSA 2048, or Ed25519), and when dkimpy is installed (`pip install dkimpy pynacl`)
one signed message is verified against the public key. Everything runs on this machine: the service, the relay
and this driver share its cores."""
import argparse, http.client, json, os, shutil, socket, subprocess, sys, tempfile, textwrap, time
from tandem_service import ROOT, call, create_leads, service

ap = argparse.ArgumentParser()
ap.add_argument("--leads", type=int, default=20000)
ap.add_argument("--dkim", default="off,rsa,ed25519", help="comma-separated runs: off, rsa, ed25519")
ap.add_argument("--connections", type=int, default=8, help="[smtp] connections")
ap.add_argument("--timeout", type=float, default=300, help="seconds to wait for the last email")
a = ap.parse_args()

# The relay: accepts every message, keeps the time it arrived, and writes the counts to a
# status file five times a second (this driver reads it).
RELAY = textwrap.dedent("""
    import asyncio, json, os, sys, time
    from aiosmtpd.smtp import SMTP
    status = sys.argv[2]
    seen = {"count": 0, "signed": 0, "first": None, "last": None}
    class Count:
        async def handle_DATA(self, server, session, envelope):
            now = time.time()
            seen["count"] += 1
            if b"\\nDKIM-Signature:" in envelope.original_content or envelope.original_content.startswith(b"DKIM-Signature:"):
                seen["signed"] += 1
                if seen["signed"] == 1:
                    with open(status + ".sample.eml", "wb") as f: f.write(envelope.original_content)
            if seen["first"] is None: seen["first"] = now
            seen["last"] = now
            return "250 OK"
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Count(), hostname="relay.local"), "127.0.0.1", int(sys.argv[1]))
        while True:
            tmp = status + ".tmp"
            with open(tmp, "w") as f: json.dump(seen, f)
            os.replace(tmp, status)
            await asyncio.sleep(0.2)
    asyncio.run(main())
""")

TEMPLATE_SRC = os.path.join(ROOT, "journeys", "templates", "ebook_delivery.md")
PROGRAM = """timezone "Asia/Ho_Chi_Minh"

lead {
  name: text
  company_size: number
  industry: text
}

event go { n: number }

sending {
  from "Acme Cloud Việt Nam <marketing@acme.vn>"
}

journey bench {
  enter on go
  send ebook_delivery
}
"""


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def make_key(kind, folder):
    path = os.path.join(folder, f"dkim-{kind}.pem")
    if kind == "rsa":
        cmd = ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path]
    else:
        cmd = ["openssl", "genpkey", "-algorithm", "ed25519", "-out", path]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def dns_record(key_file):
    """The TXT record for a PEM private key (python cryptography), as RFC 6376/8463 want it."""
    import base64
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key = serialization.load_pem_private_key(open(key_file, "rb").read(), password=None)
    pub = key.public_key()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def verify(sample, key_file):
    try:
        import dkim
    except ImportError:
        return "not verified (pip install dkimpy pynacl)"
    ok = dkim.verify(open(sample, "rb").read(), dnsfunc=lambda name, timeout=5: dns_record(key_file))
    return "a sample verified by dkimpy" if ok else "THE SAMPLE'S SIGNATURE DOES NOT VERIFY"


def run(kind, work):
    program = os.path.join(work, f"program-{kind}")
    os.makedirs(os.path.join(program, "templates"))
    with open(os.path.join(program, "program.journey"), "w", encoding="utf-8") as f: f.write(PROGRAM)
    shutil.copy(TEMPLATE_SRC, os.path.join(program, "templates", "ebook_delivery.md"))
    smtp_port = free_port()
    status = os.path.join(work, f"relay-{kind}.json")
    relay = subprocess.Popen([sys.executable, "-c", RELAY, str(smtp_port), status])
    try:
        for _ in range(100):
            if os.path.exists(status): break
            time.sleep(0.1)
        else:
            raise SystemExit("the relay did not start (pip install aiosmtpd)")
        config = os.path.join(work, f"service-{kind}.toml")
        with open(config, "w") as f:
            f.write(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\nconnections = {a.connections}\n')
            key = make_key(kind, work) if kind != "off" else None
            if key:
                f.write(f'\n[dkim]\nselector = "bench"\ndomain = "acme.vn"\nprivate_key_file = "{key}"\n')
        with service(extra_args=("--config", config), program=program) as (port, hdr):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            create_leads(c, hdr, a.leads, "m")
            t0 = time.time()
            for k in range(0, a.leads, 1000):
                events = [{"lead": f"m{i}", "event": "go", "props": {"n": i}} for i in range(k, min(a.leads, k + 1000))]
                call(c, hdr, "POST", "/api/events", json.dumps(events))
            posted = time.time() - t0
            deadline = time.time() + a.timeout
            seen = {}
            while time.time() < deadline:
                with open(status) as f: seen = json.load(f)
                if seen["count"] >= a.leads: break
                time.sleep(0.2)
            if seen.get("count", 0) < a.leads:
                raise SystemExit(f"dkim {kind}: only {seen.get('count', 0)} of {a.leads} emails arrived in {a.timeout:g} s")
        checked = f"; {verify(status + '.sample.eml', key)}" if key else ""
        span = seen["last"] - seen["first"]
        rate = (seen["count"] - 1) / span if span > 0 else float("nan")
        print(f"DKIM {kind:7}: {seen['count']:,} emails ({seen['signed']:,} signed) over {a.connections} connections; "
              f"relay received them at {rate:,.0f} emails/s (first to last message {span:.2f} s); "
              f"first event posted -> last email received {seen['last'] - t0:.2f} s "
              f"(all {a.leads:,} events acknowledged after {posted:.2f} s){checked}", flush=True)
    finally:
        relay.terminate(); relay.wait(timeout=30)


work = tempfile.mkdtemp(prefix="tandem-mail-")
try:
    for kind in a.dkim.split(","):
        if kind not in ("off", "rsa", "ed25519"): raise SystemExit(f"--dkim: unknown run `{kind}`")
        run(kind, work)
finally:
    shutil.rmtree(work, ignore_errors=True)
