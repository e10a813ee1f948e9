"""A gRPC server on Python's grpcio (gRPC Core), independent of haplog's own
code, serving faults.proto on raw bytes (no generated code needed).

    python server.py PORT [--max-streams N]

Prints "ready" once it listens; runs until killed.
"""
import sys
import time
from concurrent import futures

import grpc


def metadata(context, key, default):
    for k, v in context.invocation_metadata():
        if k == key:
            return int(v)
    return default


def resp(text=b"", blob=b""):
    """A faults.Resp, encoded by hand (field 1 text, field 2 blob)."""
    out = b""
    for tag, value in ((0x0A, text), (0x12, blob)):
        if value:
            out += bytes([tag]) + varint(len(value)) + value
    return out


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def echo(request, context):
    return resp(b"echo")


def slow(request, context):
    time.sleep(metadata(context, "delay-ms", 200) / 1000)
    return resp(b"slow")


def garbage(request, context):
    # Field 31 with wire type 7: no protobuf parser accepts it.
    return b"\xff\xff\xff\xff"


def big(request, context):
    return resp(blob=b"x" * metadata(context, "size", 1 << 16))


def stream(request, context):
    count = metadata(context, "count", 50)
    interval = metadata(context, "interval-ms", 100) / 1000
    for i in range(count):
        yield resp(b"part %d" % i)
        time.sleep(interval)


def text_of(request):
    """The text (field 1) of a faults.Req, decoded by hand."""
    if not request or request[0] != 0x0A:
        return ""
    size, shift, i = 0, 0, 1
    while True:
        b = request[i]
        size |= (b & 0x7F) << shift
        shift += 7
        i += 1
        if not b & 0x80:
            return request[i : i + size].decode()


def collect(requests, context):
    texts = [text_of(r) for r in requests]
    context.abort(grpc.StatusCode.FAILED_PRECONDITION, "|".join(texts))


def main():
    port = int(sys.argv[1])
    options = []
    if "--max-streams" in sys.argv:
        n = int(sys.argv[sys.argv.index("--max-streams") + 1])
        options.append(("grpc.max_concurrent_streams", n))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64), options=options)
    unary = grpc.unary_unary_rpc_method_handler
    handlers = {
        "Echo": unary(echo),
        "Slow": unary(slow),
        "Garbage": unary(garbage),
        "Big": unary(big),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Collect": grpc.stream_unary_rpc_method_handler(collect),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("faults.Faults", handlers),))
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
