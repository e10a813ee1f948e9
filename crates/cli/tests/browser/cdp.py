"""Drives headless Chromium over the DevTools protocol, with the standard
library only: opens URL, waits until a JavaScript condition holds, then
prints one JSON object: the value of an expression, the script errors and
console errors seen, and the URLs the page requested.

    python3 cdp.py URL --until 'EXPR' --eval 'EXPR' [--timeout S] [--screenshot FILE]
"""
import argparse
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


class WebSocket:
    """A client WebSocket (RFC 6455): text frames, masked as clients must."""

    def __init__(self, url):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        host, port, path = m.group(1), int(m.group(2)), m.group(3)
        self.sock = socket.create_connection((host, port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)
        ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("websocket handshake failed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("websocket handshake refused: %r" % head)

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(data)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + masked)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise RuntimeError("websocket closed")
            buf += chunk
        return buf

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise RuntimeError("websocket closed by the browser")
            if opcode in (0x9, 0xA):
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("cdp.py: no chromium (scripts/test.sh installs Debian's chromium)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--until", default="document.readyState === 'complete'")
    ap.add_argument("--eval", default="document.title")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--screenshot")
    ap.add_argument("--full-page", action="store_true", help="the screenshot holds the whole page")
    ap.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    args = ap.parse_args()

    profile = tempfile.mkdtemp(prefix="haplog-chromium-")
    browser = subprocess.Popen(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-port=0", "--user-data-dir=" + profile,
         "--window-size=%d,%d" % (args.width, args.height), "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.time() + 30
        while port is None and time.time() < deadline:
            line = browser.stderr.readline()
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            sys.exit("cdp.py: chromium did not open its DevTools port")
        pages = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port))
        target = next(p for p in pages if p["type"] == "page")
        ws = WebSocket(target["webSocketDebuggerUrl"])
        ids = iter(range(1, 1 << 30))
        events = {"errors": [], "console": [], "requests": []}

        def call(method, params=None):
            i = next(ids)
            ws.send(json.dumps({"id": i, "method": method, "params": params or {}}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == i:
                    if "error" in msg:
                        raise RuntimeError("%s: %s" % (method, msg["error"]))
                    return msg.get("result", {})
                note(msg)

        def note(msg):
            method, params = msg.get("method"), msg.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = params["exceptionDetails"]
                events["errors"].append(d.get("exception", {}).get("description") or d.get("text"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                events["console"].append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                events["console"].append(params["entry"]["text"])
            elif method == "Network.requestWillBeSent":
                events["requests"].append(params["request"]["url"])

        for domain in ("Runtime", "Log", "Network", "Page"):
            call(domain + ".enable")
        if args.dark:
            call("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        call("Page.navigate", {"url": args.url})
        deadline = time.time() + args.timeout
        held = False
        while time.time() < deadline:
            r = call("Runtime.evaluate", {"expression": "Boolean(%s)" % args.until, "returnByValue": True})
            if r.get("result", {}).get("value") is True:
                held = True
                break
            time.sleep(0.2)
        value = call("Runtime.evaluate", {"expression": args.eval, "returnByValue": True})
        if args.screenshot:
            params = {"format": "png"}
            if args.full_page:
                size = call("Page.getLayoutMetrics")["cssContentSize"]
                params["captureBeyondViewport"] = True
                params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            shot = call("Page.captureScreenshot", params)
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        print(json.dumps({
            "until": held,
            "value": value.get("result", {}).get("value"),
            "errors": events["errors"],
            "console": events["console"],
            "requests": events["requests"],
        }))
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
