"""C++ code generation for .proto files with Debian's protoc and grpc_cpp_plugin.

The package that calls proto_cc_library is the import root: in //proto,
"xenlet/v1/domain.proto" is imported under that name and its generated headers
are included as "xenlet/v1/domain.pb.h" (and ".grpc.pb.h" with grpc = True).
Well-known types (google/protobuf/*.proto) come from /usr/include, which protoc
searches by itself; their code is in libprotobuf.
"""

def proto_cc_library(name, srcs, proto_deps = [], deps = [], grpc = True, **kwargs):
    """Generates and compiles C++ for srcs.

    Args:
      name: the cc_library to define.
      srcs: .proto files of this package.
      proto_deps: other .proto files of this package that srcs import.
      deps: the proto_cc_library targets generated for proto_deps.
      grpc: also generate service stubs.
      **kwargs: passed to the cc_library (visibility, testonly, ...).
    """
    pkg = native.package_name()
    outs = []
    for src in srcs:
        stem = src[:-len(".proto")]
        outs += [stem + ".pb.h", stem + ".pb.cc"]
        if grpc:
            outs += [stem + ".grpc.pb.h", stem + ".grpc.pb.cc"]
    out_dir = "$(GENDIR)/" + pkg if pkg else "$(GENDIR)"
    tools = ["@system//:bin/protoc"]
    cmd = "$(location @system//:bin/protoc) -I%s --cpp_out=%s" % (pkg or ".", out_dir)
    if grpc:
        tools.append("@system//:bin/grpc_cpp_plugin")
        cmd += (" --plugin=protoc-gen-grpc=$(location @system//:bin/grpc_cpp_plugin)" +
                " --grpc_out=" + out_dir)
    cmd += " " + " ".join(["$(location %s)" % s for s in srcs])
    native.genrule(
        name = name + "_codegen",
        srcs = srcs + proto_deps,
        outs = outs,
        tools = tools,
        cmd = cmd,
        testonly = kwargs.get("testonly", False),
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        deps = deps + (["@system//:grpc++"] if grpc else ["@system//:protobuf"]),
        **kwargs
    )
