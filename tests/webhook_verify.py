#!/usr/bin/env python3
"""Verify a webhook delivery as a receiver would: webhook_verify.py SECRET
reads one JSON line of webhook_receiver.py's log on stdin and prints
"valid TYPE" when Clipmill-Signature is the HMAC-SHA256 of "t.body"."""
import hashlib
import hmac
import json
import sys

rec = json.loads(sys.stdin.readline())
parts = dict(p.split('=', 1) for p in rec['sig'].split(','))
mac = hmac.new(sys.argv[1].encode(), (parts['t'] + '.' + rec['body']).encode(),
               hashlib.sha256).hexdigest()
body = json.loads(rec['body'])
print(('valid ' if hmac.compare_digest(mac, parts['v1']) else 'INVALID ')
      + body['type'])
