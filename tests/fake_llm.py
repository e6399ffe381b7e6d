#!/usr/bin/env python3
"""A fake OpenAI-compatible chat completions server for the select tests,
on 127.0.0.1 only.  The first path element picks the behaviour:
  /good/v1/chat/completions       one clip per request, starting at the
                                  chunk's first timestamp, lasting the
                                  middle of the asked length range, scored
                                  50 + 10 x (request number): later chunks
                                  score higher
  /many/...                       the same, a hundred times over
  /malformed/...                  content that is not JSON
  /outofrange/...                 clips outside the video and range
  /500/...                        HTTP 500
  /timeout/...                    answers after 30 s
Every request body is appended to LOG (one JSON per line).
Usage: fake_llm.py PORT LOG"""
import json, re, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log = int(sys.argv[1]), sys.argv[2]
count = {"n": 0}


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        mode = self.path.split("/")[1]
        if not self.path.endswith("/v1/chat/completions"):
            return self.reply(404, {"error": {"message": "no such route"}})
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "auth": self.headers.get("Authorization"),
                                "body": req}) + "\n")
        if mode == "500":
            return self.reply(500, {"error": {"message": "server error"}})
        if mode == "timeout":
            time.sleep(30)
            return
        count["n"] += 1
        system = req["messages"][0]["content"]
        user = req["messages"][1]["content"]
        lo, hi = map(float, re.search(r"between (\d+) and (\d+) seconds", system).groups())
        first = float(re.search(r"\[([\d.]+)-", user).group(1))
        if mode == "malformed":
            content = '{"clips": [{"start": 1, "end"'
        elif mode == "outofrange":
            content = json.dumps({"clips": [
                {"start": -5, "end": 5, "score": 90, "title": "x", "reason": "y"},
                {"start": 5000, "end": 5010, "score": 90, "title": "x", "reason": "y"},
                {"start": first, "end": first + hi * 3, "score": 90, "title": "x", "reason": "y"}]})
        else:
            content = json.dumps({"clips": [{
                "start": first, "end": first + (lo + hi) / 2,
                "score": min(100, 40 + 10 * count["n"]), "title": "chunk %d" % count["n"],
                "reason": "Request %d liked it." % count["n"]}] * (100 if mode == "many" else 1)})
        self.reply(200, {"id": "chatcmpl-1", "object": "chat.completion",
                         "model": req.get("model"), "choices": [{
                             "index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}]})


ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
