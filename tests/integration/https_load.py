#!/usr/bin/env python3
"""Hostile and heavy load on a farm's HTTPS port, as https_load_test.sh and
scripts/bench-web use it. Each mode prints `key value` lines (figures) and
exits non-zero only when it could not do its job (the shell script judges).

  idle N           hold N TCP connections open (no TLS), then time REST calls
                   and the dashboard with and without them (and the farm's
                   memory, given FARM_PID)
  streams N        open N /events/changes streams, print `ready`, wait for a
                   change on every one of them (the caller makes the change)
  refuse           oversized and unauthenticated bodies, malformed input,
                   slow headers: the status and body each gets
  rate CLIENTS S   requests per second on GET /api/v1/session for S seconds
"""
import asyncio
import json
import os
import ssl
import sys
import time

PORT = int(os.environ["HTTPS_PORT"])
CA = os.environ["CA"]
CERT, KEY = os.environ.get("CERT"), os.environ.get("KEY")


def context(with_cert=True):
    ctx = ssl.create_default_context(cafile=CA)
    if with_cert and CERT:
        ctx.load_cert_chain(CERT, KEY)
    return ctx


async def request(method, path, body=b"", headers=None, with_cert=True, ctx=None):
    """One request on a connection of its own: (status, headers, body)."""
    r, w = await asyncio.open_connection("localhost", PORT, ssl=ctx or context(with_cert))
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    w.write(head.encode() + b"\r\n" + body)
    await w.drain()
    data = await r.read()
    w.close()
    top, _, rest = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    return status, hdrs, rest


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.95))]


async def timed_calls(n):
    ctx = context()
    api, page = [], []
    for _ in range(n):
        t = time.monotonic()
        s, _, _ = await request("GET", "/api/v1/session", ctx=ctx)
        api.append((time.monotonic() - t) * 1000)
        assert s == 200, s
        t = time.monotonic()
        s, _, _ = await request("GET", "/", ctx=ctx)
        page.append((time.monotonic() - t) * 1000)
        assert s == 200, s
    return p95(api), p95(page)


def rss_kib():
    pid = os.environ.get("FARM_PID")
    if not pid:
        return 0
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS")).split()[1])


async def idle(n):
    base_api, base_page = await timed_calls(40)
    print(f"rss_before_kib {rss_kib()}")
    conns = []
    for i in range(n):
        conns.append(await asyncio.open_connection("localhost", PORT))
    print(f"idle_connections {len(conns)}", flush=True)
    await asyncio.sleep(0.5)  # the farm has accepted them all
    print(f"rss_with_kib {rss_kib()}")
    api, page = await timed_calls(40)
    # Still all open: a closed one reads EOF at once.
    alive = 0
    for r, _ in conns:
        try:
            await asyncio.wait_for(r.read(1), 0.001)
        except asyncio.TimeoutError:
            alive += 1
    print(f"idle_still_open {alive}")
    print(f"p95_ms_api_without {base_api:.1f}\np95_ms_api_with {api:.1f}")
    print(f"p95_ms_page_without {base_page:.1f}\np95_ms_page_with {page:.1f}")
    for _, w in conns:
        w.close()


async def stream(ctx, seen, got_change, retried):
    # Opened all at once, one caller's streams meet the per-caller limit:
    # a 429 says when to retry, as a script should.
    while True:
        r, w = await asyncio.open_connection("localhost", PORT, ssl=ctx)
        w.write(b"GET /events/changes HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        status = int(head.split()[1])
        if status == 200:
            break
        w.close()
        if status not in (429, 503):
            print(f"stream_refused {status}", flush=True)
            return
        retried.append(status)
        await asyncio.sleep(1)
    first = None
    buf = b""
    while True:
        chunk = await r.read(4096)
        if not chunk:
            return
        buf += chunk
        for part in buf.split(b"\n")[:-1]:
            if part.startswith(b"data: {\"generation\":"):
                g = int(part.split(b":")[-1].rstrip(b"}"))
                if first is None:
                    first = g
                    seen.append(g)
                elif g > first:
                    got_change.append(g)
                    w.close()
                    return
        buf = buf.split(b"\n")[-1]


async def streams(n):
    ctx = context()
    seen, changed, retried = [], [], []
    tasks = [asyncio.create_task(stream(ctx, seen, changed, retried)) for _ in range(n)]
    t = time.monotonic()
    while len(seen) < n and time.monotonic() - t < 60:
        await asyncio.sleep(0.1)
    print(f"streams_open {len(seen)}\nstreams_retried {len(retried)}", flush=True)
    s, _, _ = await request("GET", "/api/v1/session", ctx=ctx)
    print(f"ordinary_request_status {s}")
    print("ready", flush=True)
    t = time.monotonic()
    while len(changed) < n and time.monotonic() - t < 60:
        await asyncio.sleep(0.1)
    print(f"streams_changed {len(changed)}")
    for task in tasks:
        task.cancel()


async def refuse():
    def show(name, status, body):
        try:
            j = json.loads(body)
            code = j.get("error", {}).get("code", "-")
        except ValueError:
            code = "not-json"
        print(f"{name} {status} {code}", flush=True)

    # A declared body over the limit: answered before any of it is sent.
    async def declared(name, size, with_cert, path="/api/v1/Farm/WhoAmI"):
        r, w = await asyncio.open_connection("localhost", PORT, ssl=context(with_cert))
        w.write(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\n\r\n".encode())
        await w.drain()
        data = await asyncio.wait_for(r.read(), 10)
        w.close()
        top, _, rest = data.partition(b"\r\n\r\n")
        show(name, int(top.split()[1]), rest)

    await declared("oversized_gateway", 100 << 20, True)
    await declared("oversized_logout", 1 << 20, True, "/logout")
    await asyncio.gather(*[declared(f"unauthenticated_100mb_{i}", 100 << 20, False, "/api/v1/Farm/WhoAmI")
                           for i in range(8)])
    # Under the route's limit but with no caller: answered while the body is
    # still unsent, so it was refused on the headers alone.
    await declared("unauthenticated_3mb", 3 << 20, False)
    # Unauthenticated and small: refused on the headers alone.
    s, _, b = await request("POST", "/api/v1/Farm/WhoAmI", b"{}", {"Content-Type": "application/json"},
                            with_cert=False)
    show("unauthenticated_small", s, b)
    json_headers = {"Content-Type": "application/json"}
    s, _, b = await request("POST", "/api/v1/Builds/GetBuild", b'{"id": "\xff\xfe"}', json_headers)
    show("invalid_utf8", s, b)
    s, _, b = await request("POST", "/api/v1/Builds/GetBuild", b"[" * 100000 + b"]" * 100000, json_headers)
    show("nested_json", s, b)
    s, _, b = await request("POST", "/api/v1/Builds/GetBuild", b'{"id": ', json_headers)
    show("truncated_json", s, b)
    s, _, b = await request("GET", "/api/v1/session", headers={"X-Big": "a" * 40000})
    show("huge_header", s, b)
    s, _, b = await request("DELETE", "/api/v1/session")
    show("wrong_method", s, b)
    s, _, b = await request("GET", "/no/such/page")
    show("unknown_path", s, b)
    # Slowloris: headers that never end are cut off.
    r, w = await asyncio.open_connection("localhost", PORT, ssl=context())
    w.write(b"GET /api/v1/session HTTP/1.1\r\nHost: localhost\r\n")
    await w.drain()
    t = time.monotonic()
    try:
        while True:
            w.write(b"X-Slow: 1\r\n")
            await w.drain()
            data = await asyncio.wait_for(r.read(1), 1)
            if not data:
                break
    except (asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        while time.monotonic() - t < 30:
            try:
                data = await asyncio.wait_for(r.read(1), 1)
                if not data:
                    break
            except asyncio.TimeoutError:
                w.write(b"X-Slow: 1\r\n")
            except (ConnectionError, ssl.SSLError):
                break
    print(f"slow_headers_cut_after_s {time.monotonic() - t:.1f}")


async def rate(clients, seconds):
    ctx = context()
    done, refused = [], []
    stop = time.monotonic() + seconds

    async def client():
        # Keep-alive, as a browser or script would.
        r, w = await asyncio.open_connection("localhost", PORT, ssl=ctx)
        while time.monotonic() < stop:
            w.write(b"GET /api/v1/session HTTP/1.1\r\nHost: localhost\r\n\r\n")
            await w.drain()
            head = await r.readuntil(b"\r\n\r\n")
            length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
            await r.readexactly(length)
            (done if head.startswith(b"HTTP/1.1 200") else refused).append(1)
        w.close()

    await asyncio.gather(*[client() for _ in range(clients)])
    print(f"requests_per_s_{clients}_clients {len(done) / seconds:.0f} (not 200: {len(refused)})")


def main():
    mode = sys.argv[1]
    if mode == "idle":
        asyncio.run(idle(int(sys.argv[2])))
    elif mode == "streams":
        asyncio.run(streams(int(sys.argv[2])))
    elif mode == "refuse":
        asyncio.run(refuse())
    elif mode == "rate":
        asyncio.run(rate(int(sys.argv[2]), float(sys.argv[3])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
