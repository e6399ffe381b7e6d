#!/usr/bin/env python3
"""A small FastCGI client for the tests: talks to clipmill.fcgi's socket
directly, so that a request body can stream slowly (nginx buffers a whole
body before passing it on).

    fcgi_client.py uploads SOCKET KEY HOLD EXTRA
        Start HOLD multipart uploads as user KEY and stop each in the middle
        of its file; then send EXTRA more whole uploads, one after another,
        and print each one's status line, Retry-After and body; then finish
        the held ones and print their statuses; then one more upload.
        Between the phases it prints "scratch N": the number of upload files
        in $SCRATCH.
"""
import json
import os
import socket
import struct
import sys
import time

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def record(kind, rid, data):
    out = b""
    while True:
        chunk, data = data[:65535], data[65535:]
        out += struct.pack(">BBHHBB", 1, kind, rid, len(chunk), 0, 0) + chunk
        if not data:
            return out


def nv(name, value):
    def ln(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return ln(len(name)) + ln(len(value)) + name + value


class Request:
    def __init__(self, path, params, body):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(60)
        self.s.connect(path)
        self.body = body
        self.sent = 0
        p = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/jobs",
             "DOCUMENT_URI": "/jobs", "QUERY_STRING": "",
             "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body))}
        p.update(params)
        enc = b"".join(nv(k, v) for k, v in p.items())
        self.s.sendall(record(BEGIN, 1, struct.pack(">HB5x", 1, 0)) +
                       record(PARAMS, 1, enc) + record(PARAMS, 1, b""))

    def send(self, upto):
        """Send the body up to byte UPTO (all of it when None)."""
        upto = len(self.body) if upto is None else upto
        if upto > self.sent:
            self.s.sendall(record(STDIN, 1, self.body[self.sent:upto]))
            self.sent = upto
        if self.sent == len(self.body):
            self.s.sendall(record(STDIN, 1, b""))

    def response(self):
        """(status, headers dict, body) once the application ends."""
        buf, out = b"", b""
        while True:
            while len(buf) < 8:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError("connection closed")
                buf += d
            _, kind, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            while len(buf) < 8 + clen + plen:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError("connection closed")
                buf += d
            content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
            if kind == STDOUT:
                out += content
            elif kind == END:
                break
        self.s.close()
        head, _, body = out.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode().split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return int(headers.get("status", "200").split()[0]), headers, body


def multipart(size):
    b = "clipmillboundary42"
    head = ("--%s\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\n\r\n"
            "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"talk.mp4\"\r\nContent-Type: video/mp4\r\n\r\n" % (b, b)).encode()
    tail = ("\r\n--%s--\r\n" % b).encode()
    return "multipart/form-data; boundary=" + b, head + b"\0" * size + tail


def scratch():
    d = os.environ["SCRATCH"]
    return len([f for f in os.listdir(d) if f.startswith("upload.")])


def uploads(sock, key, hold, extra):
    ctype, body = multipart(1024 * 1024)
    params = {"CONTENT_TYPE": ctype, "HTTP_AUTHORIZATION": "Bearer " + key,
              "HTTP_ACCEPT": "application/json"}
    held = []
    for _ in range(hold):
        r = Request(sock, params, body)
        r.send(len(body) // 2)
        held.append(r)
    # each held upload has its temporary file by the time the server has
    # read half its body; wait for them
    for _ in range(400):
        if scratch() == hold:
            break
        time.sleep(0.05)
    print("scratch %d" % scratch())
    for _ in range(extra):
        r = Request(sock, params, body)
        r.send(None)
        st, h, b = r.response()
        print("extra %d %s %s" % (st, h.get("retry-after", "-"),
                                  json.loads(b).get("error", "")))
    print("scratch %d" % scratch())
    for r in held:
        r.send(None)
        print("held %d" % r.response()[0])
    r = Request(sock, params, body)
    r.send(None)
    print("after %d" % r.response()[0])


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "uploads":
        uploads(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
