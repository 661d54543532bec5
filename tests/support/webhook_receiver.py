"""A webhook receiver for the end-to-end tests: a real HTTP server process that verifies
every delivery with the official `standardwebhooks` package and appends what it got to a
JSON Lines file.

    python3 webhook_receiver.py PORT SECRET LOG

Paths: `/ok` answers 204 once the signature verifies (401 if it does not), `/gone`
always answers 410 (a receiver that refuses: the delivery fails at once), `/slow` waits
two seconds then answers 204 (deliveries in flight when the sender is killed).
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

PORT, SECRET, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
VERIFIER = Webhook(SECRET)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            VERIFIER.verify(body, headers)
            verified = True
        except Exception:  # noqa: BLE001 - any failure means "not verified"
            verified = False
        record = {
            "t": time.time(),
            "path": self.path,
            "id": headers.get("webhook-id"),
            "verified": verified,
            "body": json.loads(body or b"null"),
        }
        if self.path == "/slow":
            time.sleep(2)
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        if self.path == "/gone":
            self.send_response(410)
        elif not verified:
            self.send_response(401)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
