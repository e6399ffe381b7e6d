#!/usr/bin/env python3
"""Long-poll load: N clients through nginx each long-poll one of JOBS jobs
(GET /jobs/{id}/events?after=SEQ&timeout=T, again after every answer), while
events are inserted at RATE per second (the queue_event statement, carrying
the database clock time).  Prints event-to-client latency p50/p99 and the
number of samples; the caller reads the fcgi RSS.

  longpoll.py PORT KEY DSN CLIENTS JOBS RATE SECONDS RAMP_PER_S READY_FILE
"""
import asyncio, json, subprocess, sys, time

port, key, dsn = int(sys.argv[1]), sys.argv[2], sys.argv[3]
clients, jobs, rate, secs, ramp = (int(x) for x in sys.argv[4:9])
ready_file = sys.argv[9]
lat = []
errors = {"conn": 0, "status": 0}
measuring = False
parked = 0


async def client(i):
    global parked
    job = i % jobs + 1
    after = 0
    first = True
    while True:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            errors["conn"] += 1
            await asyncio.sleep(0.5)
            continue
        try:
            while True:
                w.write(("GET /jobs/%d/events?after=%d&timeout=55 HTTP/1.1\r\n"
                         "Host: x\r\nAccept: application/json\r\n"
                         "Authorization: Bearer %s\r\n\r\n" % (job, after, key)).encode())
                await w.drain()
                head = await r.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                n = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        n = int(line.split(b":")[1])
                body = await r.readexactly(n)
                now = time.time() * 1000
                if status != 200:
                    errors["status"] += 1
                    await asyncio.sleep(0.5)
                    continue
                j = json.loads(body)
                for e in j["events"]:
                    d = e.get("data") or {}
                    if measuring and "t" in d:
                        lat.append(now - d["t"])
                after = j["next"]
                first = False
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors["conn"] += 1
            w.close()
            await asyncio.sleep(0.2)


async def main():
    global measuring
    tasks = []
    for i in range(clients):
        tasks.append(asyncio.create_task(client(i)))
        if ramp and i % max(1, ramp // 20) == 0:
            await asyncio.sleep(1 / 20)
    await asyncio.sleep(3)          # the last ones have parked
    open(ready_file, "w").write("ready\n")
    await asyncio.sleep(2)          # the caller reads the RSS
    measuring = True
    p = await asyncio.create_subprocess_exec("psql", "-qXAt", dsn, stdin=subprocess.PIPE,
                                             stdout=subprocess.DEVNULL)
    k = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        job = k % jobs + 1
        k += 1
        sql = ("WITH j AS (UPDATE jobs SET last_seq = last_seq + 1 WHERE id = %d RETURNING id, last_seq) "
               "INSERT INTO events (job_id, seq, kind, data) SELECT id, last_seq, 'progress', "
               "jsonb_build_object('t', extract(epoch FROM clock_timestamp()) * 1000) FROM j "
               "RETURNING pg_notify('clipmill_events', %d::text);\n" % (job, job))
        p.stdin.write(sql.encode())
        await p.stdin.drain()
        await asyncio.sleep(max(0, t0 + k / rate - time.monotonic()))
    await asyncio.sleep(1)
    measuring = False
    p.stdin.close()
    await p.wait()
    lat.sort()
    if not lat:
        print("no samples", errors)
        return
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
    print("clients=%d events=%d samples=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f conn_errors=%d status_errors=%d"
          % (clients, k, len(lat), q(0.5), q(0.99), lat[-1], errors["conn"], errors["status"]))
    for t in tasks:
        t.cancel()


asyncio.run(main())
