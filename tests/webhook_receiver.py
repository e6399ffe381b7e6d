#!/usr/bin/env python3
"""A webhook receiver for tests/t_webhooks.sh, on 127.0.0.1 only.

Usage: webhook_receiver.py PORTFILE LOG
Answers by path: /ok 200; /flaky 500 to its first request, then 200;
/slow sleeps 12 s on its first request, then 200; /down always 500.
Each request is one JSON line in LOG: path, headers, body.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

seen = {}
lock = threading.Lock()


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with lock:
            n = seen.get(self.path, 0) + 1
            seen[self.path] = n
            with open(sys.argv[2], 'a') as f:
                f.write(json.dumps({'path': self.path, 'n': n,
                    'sig': self.headers.get('Clipmill-Signature'),
                    'event': self.headers.get('Clipmill-Event'),
                    'body': body.decode()}) + '\n')
        code = 200
        if self.path == '/down' or (self.path == '/flaky' and n == 1):
            code = 500
        if self.path == '/slow' and n == 1:
            time.sleep(12)
        try:
            self.send_response(code)
            self.send_header('Content-Length', '0')
            self.end_headers()
        except OSError:
            pass

    def log_message(self, *a):
        pass


s = ThreadingHTTPServer(('127.0.0.1', 0), H)
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write(str(s.server_address[1]))
import os
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
s.serve_forever()
