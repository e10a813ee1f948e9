"""Asks a server's reflection service several things on ONE stream, with
grpcio as the client and grpcio-reflection's generated messages (the
v1alpha messages, the same on the wire as v1), and prints one JSON line per
answer, then the stream's status:

    python reflect.py HOST:PORT v1|v1alpha SYMBOL...

Each SYMBOL is asked as file_containing_symbol; "list" asks list_services.
"""
import json
import sys

import grpc
from grpc_reflection.v1alpha import reflection_pb2 as pb
from google.protobuf import descriptor_pb2


def main():
    target, version, symbols = sys.argv[1], sys.argv[2], sys.argv[3:]
    requests = []
    for symbol in symbols:
        if symbol == "list":
            requests.append(pb.ServerReflectionRequest(host="h", list_services=""))
        else:
            requests.append(pb.ServerReflectionRequest(host="h", file_containing_symbol=symbol))
    with grpc.insecure_channel(target) as channel:
        call = channel.stream_stream(
            "/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version,
            request_serializer=pb.ServerReflectionRequest.SerializeToString,
            response_deserializer=pb.ServerReflectionResponse.FromString,
        )
        answers = call(iter(requests), timeout=10)
        try:
            for answer in answers:
                kind = answer.WhichOneof("message_response")
                line = {"kind": kind}
                if kind == "error_response":
                    line["code"] = answer.error_response.error_code
                    line["message"] = answer.error_response.error_message
                elif kind == "file_descriptor_response":
                    files = []
                    for raw in answer.file_descriptor_response.file_descriptor_proto:
                        files.append(descriptor_pb2.FileDescriptorProto.FromString(raw).name)
                    line["files"] = files
                elif kind == "list_services_response":
                    line["services"] = [s.name for s in answer.list_services_response.service]
                print(json.dumps(line))
            print(json.dumps({"status": "OK"}))
        except grpc.RpcError as e:
            print(json.dumps({"status": e.code().name, "details": e.details()}))


if __name__ == "__main__":
    main()
