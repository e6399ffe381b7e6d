#!/usr/bin/env python3
"""A recording, signature-checking proxy in front of s3rver (tests only).

    s3proxy.py LISTEN_PORT UPSTREAM_PORT LOG_FILE ACCESS:SECRET [FAULTS_FILE]

s3rver checks Signature V2 only, so every request clipmill sends is
checked here by an independent SigV4 implementation (botocore's, from
Debian's python3-botocore) before it is passed on to s3rver on
127.0.0.1:UPSTREAM_PORT:

- header-signed requests: the signature is recomputed with botocore's
  S3SigV4Auth over exactly the headers the client says it signed, and the
  x-amz-content-sha256 header must equal the SHA-256 of the body received;
- presigned URLs (X-Amz-Signature in the query): recomputed with
  botocore's S3SigV4QueryAuth.

Each request is logged to LOG_FILE as one JSON line.  A request signed
with the known access key but the wrong secret is answered here with S3's
403 SignatureDoesNotMatch, as S3 would; unknown key ids go on to s3rver,
which answers InvalidAccessKeyId.

FAULTS_FILE, read on every request, injects server errors: each line is
"METHOD QUERY_SUBSTRING STATUS" (e.g. "PUT partNumber=2 500"); a matching
request is answered with that status and S3's InternalError body without
reaching s3rver.  A line "LISTPAGE N" makes s3rver answer ListObjectsV2
with pages of N keys (the forwarded max-keys is lowered after the
signature check), so that continuation tokens get exercised.  A line
"DELAY METHOD QUERY_SUBSTRING SECONDS" holds matching requests that long
before passing them on (a slow store, so that work spreads over runners).
"""
import hashlib
import http.client
import http.server
import json
import re
import sys
import threading
import time
import urllib.parse

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

LISTEN, UPSTREAM, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ACCESS, SECRET = sys.argv[4].split(':', 1)
FAULTS = sys.argv[5] if len(sys.argv) > 5 else None
log_lock = threading.Lock()

AUTH_RE = re.compile(
    r'AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,'
    r' ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$')


def verify_header(method, host, raw_path, headers, body):
    """Returns (known_key, signature_ok, payload_ok, signed_headers)."""
    m = AUTH_RE.match(headers.get('Authorization', ''))
    if not m:
        return False, False, False, ''
    access, _date, region, service, signed, sig = m.groups()
    if access != ACCESS:
        return False, False, False, signed
    names = signed.split(';')
    hdrs = {}
    for n in names:
        v = headers.get(n)
        if v is None:
            return True, False, False, signed
        hdrs[n] = v
    req = AWSRequest(method=method, url='http://' + host + raw_path,
                     headers=hdrs, data=body)
    req.context['timestamp'] = headers.get('x-amz-date', '')
    auth = botocore.auth.S3SigV4Auth(Credentials(ACCESS, SECRET), service,
                                     region)
    # botocore signs every header it is given but these; a client that
    # signed one of them would be checked against the wrong list
    if sorted(auth.headers_to_sign(req)) != sorted(names):
        return True, False, False, signed
    cr = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, cr), req)
    payload_ok = headers.get('x-amz-content-sha256') == \
        hashlib.sha256(body).hexdigest()
    return True, expected == sig, payload_ok, signed


def verify_query(method, host, raw_path, headers):
    path, _, query = raw_path.partition('?')
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    cred = q.get('X-Amz-Credential', [''])[0].split('/')
    if len(cred) != 5 or cred[0] != ACCESS:
        return False, False, False, ''
    sig = q.get('X-Amz-Signature', [''])[0]
    rest = '&'.join(p for p in query.split('&')
                    if not p.startswith('X-Amz-Signature='))
    signed = q.get('X-Amz-SignedHeaders', [''])[0]
    hdrs = {n: headers.get(n, '') for n in signed.split(';')}
    req = AWSRequest(method=method, url='http://' + host + path + '?' + rest,
                     headers=hdrs)
    req.context['timestamp'] = q.get('X-Amz-Date', [''])[0]
    auth = botocore.auth.S3SigV4QueryAuth(
        Credentials(ACCESS, SECRET), cred[3], cred[2],
        int(q.get('X-Amz-Expires', ['0'])[0]))
    cr = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, cr), req)
    return True, expected == sig, True, signed


def fault_lines():
    if not FAULTS:
        return []
    try:
        with open(FAULTS) as f:
            return f.read().splitlines()
    except OSError:
        return []


def list_page():
    for line in fault_lines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == 'LISTPAGE':
            return int(parts[1])
    return None


def delay_for(method, raw_path):
    for line in fault_lines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == 'DELAY' and parts[1] == method \
                and parts[2] in raw_path:
            return float(parts[3])
    return 0.0


def fault_for(method, raw_path):
    for line in fault_lines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == method and parts[1] in raw_path:
            return int(parts[2])
    return None


def s3_error(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            '<Message>%s</Message></Error>' % (code, message)).encode()


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ('transfer-encoding', 'connection',
                                 'content-length', 'keep-alive'):
                self.send_header(k, v)
        if self.command == 'HEAD':
            cl = [v for k, v in headers if k.lower() == 'content-length']
            self.send_header('Content-Length', cl[0] if cl else '0')
        else:
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get('Content-Length', '0') or 0)
        body = self.rfile.read(n) if n else b''
        host = self.headers.get('Host', '')
        if 'X-Amz-Signature=' in self.path:
            kind = 'query'
            known, sig_ok, payload_ok, signed = verify_query(
                self.command, host, self.path, self.headers)
        elif 'Authorization' in self.headers:
            kind = 'header'
            known, sig_ok, payload_ok, signed = verify_header(
                self.command, host, self.path, self.headers, body)
        else:
            kind, known, sig_ok, payload_ok, signed = 'none', False, False, \
                False, ''
        fault = fault_for(self.command, self.path)
        rec = {'method': self.command, 'host': host, 'path': self.path,
               'auth': kind, 'known_key': known, 'sig_ok': sig_ok,
               'payload_ok': payload_ok, 'signed': signed, 'bytes': n,
               'fault': fault}
        with log_lock, open(LOG, 'a') as f:
            f.write(json.dumps(rec) + '\n')
        if fault:
            return self.answer(fault, [('Content-Type', 'application/xml')],
                               s3_error('InternalError',
                                        'Injected by the test.'))
        if known and not sig_ok:
            return self.answer(403, [('Content-Type', 'application/xml')],
                               s3_error('SignatureDoesNotMatch',
                                        'The request signature we calculated '
                                        'does not match the signature you '
                                        'provided. Check your key and '
                                        'signing method.'))
        delay = delay_for(self.command, self.path)
        if delay > 0:
            time.sleep(delay)
        conn = http.client.HTTPConnection('127.0.0.1', UPSTREAM, timeout=60)
        try:
            hdrs = {k: v for k, v in self.headers.items()
                    if k.lower() not in ('expect', 'connection')}
            path = self.path
            page = list_page()
            if page and 'list-type=2' in path:
                path = re.sub(r'max-keys=\d+', 'max-keys=%d' % page, path)
            conn.request(self.command, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            self.answer(resp.status, resp.getheaders(), data)
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


if __name__ == '__main__':
    srv = Server(('127.0.0.1', LISTEN), Proxy)
    print('s3proxy listening on 127.0.0.1:%d' % LISTEN, flush=True)
    srv.serve_forever()
