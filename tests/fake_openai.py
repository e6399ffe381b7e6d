#!/usr/bin/env python3
"""A small stand-in for an OpenAI-compatible /v1/audio/transcriptions
endpoint, for tests on 127.0.0.1.  It speaks the wire format: a multipart
POST (file, model, response_format=verbose_json, timestamp_granularities[]
word and segment, optional language), answered with verbose_json
({"task","language","duration","text","words":[{"word","start","end"}],
"segments":[{"id","seek","start","end","text","avg_logprob",...}]}).

usage: fake_openai.py PORT SCRIPT LOG

SCRIPT is a file with one behaviour per request, in order (the last line
repeats): "ok", "429 SECONDS" (429 with Retry-After), "500", "401" (JSON
error body), "slow SECONDS" (sleep, then ok), "bad" (a malformed body).
Each request is logged to LOG as one JSON line: time, behaviour, headers
and fields it got, and the uploaded audio's format and duration (read from
the FLAC STREAMINFO block).  The answer's words are "w0", "w1"... one a
second, at 0.1-0.6 s of each second of the uploaded audio, five to a
segment ending in a full stop.
"""
import email.parser, email.policy, json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, script_path, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(script_path) as f:
    script = [l.strip() for l in f if l.strip()]
count = 0


def flac_duration(data):
    """Seconds of audio in a FLAC file, from STREAMINFO; None if not FLAC."""
    if data[:4] != b'fLaC' or len(data) < 42:
        return None
    si = data[8:42]
    rate = (si[10] << 12) | (si[11] << 4) | (si[12] >> 4)
    total = ((si[13] & 0x0f) << 32) | int.from_bytes(si[14:18], 'big')
    return total / rate if rate else None


class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def answer(self, code, body, headers=()):
        b = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(b)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)

    def do_POST(self):
        global count
        step = script[min(count, len(script) - 1)]
        count += 1
        n = int(self.headers.get('Content-Length', 0))
        body = self.rfile.read(n)
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b'Content-Type: ' + self.headers['Content-Type'].encode() +
            b'\r\n\r\n' + body)
        fields, audio, audio_type, filename = {}, b'', None, None
        for part in msg.iter_parts():
            name = part.get_param('name', header='content-disposition')
            if name == 'file':
                audio = part.get_payload(decode=True)
                audio_type = part.get_content_type()
                filename = part.get_filename()
            else:
                fields.setdefault(name, []).append(
                    part.get_payload(decode=True).decode())
        dur = flac_duration(audio)
        with open(log_path, 'a') as f:
            f.write(json.dumps({
                't': time.time(), 'step': step, 'path': self.path,
                'auth': self.headers.get('Authorization'),
                'fields': fields, 'audio_type': audio_type,
                'filename': filename, 'bytes': len(audio),
                'duration': dur}) + '\n')
        kind = step.split()[0]
        if kind == '429':
            return self.answer(429, json.dumps({'error': {
                'message': 'Rate limit reached', 'type': 'requests'}}),
                [('Retry-After', step.split()[1])])
        if kind == '500':
            return self.answer(500, json.dumps({'error': {
                'message': 'The server had an error', 'type': 'server_error'}}))
        if kind == '401':
            return self.answer(401, json.dumps({'error': {
                'message': 'Incorrect API key provided',
                'type': 'invalid_request_error', 'code': 'invalid_api_key'}}))
        if kind == 'bad':
            return self.answer(200, '{"text": "half an answ')
        if kind == 'slow':
            time.sleep(float(step.split()[1]))
        secs = int(dur or 0)
        words = [{'word': f'w{i}', 'start': i + 0.1, 'end': i + 0.6}
                 for i in range(secs)]
        segs = []
        for s in range(0, secs, 5):
            ws = words[s:s + 5]
            segs.append({'id': len(segs), 'seek': 0, 'start': ws[0]['start'],
                         'end': ws[-1]['end'],
                         'text': ' ' + ' '.join(w['word'] for w in ws) + '.',
                         'tokens': [], 'temperature': 0.0,
                         'avg_logprob': -0.25, 'compression_ratio': 1.0,
                         'no_speech_prob': 0.01})
        self.answer(200, json.dumps({
            'task': 'transcribe', 'language': 'english', 'duration': dur,
            'text': ' '.join(s['text'] for s in segs), 'words': words,
            'segments': segs}))


ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
