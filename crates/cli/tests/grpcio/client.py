"""Calls `haplog testserver` with Python's grpcio as the client, on raw
bytes, and prints one JSON line per call: {"code": NAME, "details": TEXT,
"response": HEX}.

    python client.py HOST:PORT METHOD_PATH HEX_REQUEST [--gzip]

HEX_REQUEST `text:N` stands for a message whose field 1 holds N bytes of
`a` (too long for a command line as hex).
"""
import json
import sys

import grpc


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


def main():
    target, path, request = sys.argv[1], sys.argv[2], sys.argv[3]
    if request.startswith("text:"):
        n = int(request[5:])
        request = b"\x0a" + varint(n) + b"a" * n
    else:
        request = bytes.fromhex(request)
    compression = grpc.Compression.Gzip if "--gzip" in sys.argv else None
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(path)
        try:
            response = call(request, timeout=10, compression=compression)
            print(json.dumps({"code": "OK", "details": "", "response": response.hex()}))
        except grpc.RpcError as e:
            print(json.dumps({"code": e.code().name, "details": e.details(), "response": ""}))


if __name__ == "__main__":
    main()
