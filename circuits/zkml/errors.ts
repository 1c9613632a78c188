/** Errors of the zkML compiler, each with a stable code the server can answer with. */

/** An operator (or an operator's configuration) the compiler cannot turn into constraints. */
export interface UnsupportedOp {
  /** ONNX op type, e.g. "Softmax". */
  op: string;
  /** The node's name (or "#index" when it has none). */
  node: string;
  /** Why, when the op itself is supported but not this use of it (e.g. "B is not a constant"). */
  reason?: string;
}

export class ZkmlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ZkmlError";
  }
}

/**
 * The model uses operators the compiler does not support (code MODEL_NOT_PROVABLE, what the server
 * answers with HTTP 400); `unsupported` lists each offending node.
 */
export class ZkmlUnsupportedError extends ZkmlError {
  constructor(
    readonly unsupported: UnsupportedOp[],
    readonly supported: readonly string[],
  ) {
    super("MODEL_NOT_PROVABLE", describeUnsupported(unsupported, supported));
    this.name = "ZkmlUnsupportedError";
  }
}

/** A value left the fixed-point range the circuit proves (the witness would not exist). */
export class ZkmlRangeError extends ZkmlError {
  constructor(message: string) {
    super("ZKML_RANGE", message);
    this.name = "ZkmlRangeError";
  }
}

/** The model file is not something the compiler can read (not ONNX, no inputs, wrong dtypes). */
export class ZkmlModelError extends ZkmlError {
  constructor(message: string) {
    super("MODEL_INVALID", message);
    this.name = "ZkmlModelError";
  }
}

export function describeUnsupported(unsupported: UnsupportedOp[], supported: readonly string[]): string {
  const ops = unsupported.filter((u) => !u.reason);
  const configs = unsupported.filter((u) => u.reason);
  const parts: string[] = [];
  if (ops.length > 0) {
    const list = ops.map((u) => `"${u.op}" (node "${u.node}")`).join(", ");
    parts.push(`${ops.length === 1 ? "operator" : "operators"} ${list} ${ops.length === 1 ? "is" : "are"} not supported; supported: ${supported.join(", ")}`);
  }
  for (const u of configs) parts.push(`operator "${u.op}" (node "${u.node}"): ${u.reason}`);
  return parts.join("; ");
}
