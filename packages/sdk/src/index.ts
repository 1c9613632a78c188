/**
 * @stun/sdk: the TypeScript client for Stun requesters.
 *
 *   const stun = new StunClient({ baseUrl: "http://localhost:4000", apiKey });
 *   const model = await stun.uploadModel("mlp.onnx");
 *   const task = await stun.submitTask({ modelId: model.id, inputs: { x: new Float32Array([1, 2, 3, 4]) } });
 *   const y = await task.getOutput("y");
 */
export {
  StunClient,
  TaskHandle,
  amountToString,
  buildSubmitBody,
  outputsOf,
  toTaskInfo,
  DEFAULT_BASE_URL,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_UPLOAD_TIMEOUT_MS,
  DEFAULT_WAIT_TIMEOUT_MS,
  DEFAULT_PUSH_CONNECT_TIMEOUT_MS,
  type Account,
  type ApiKeyInfo,
  type CreateKeyOptions,
  type NewApiKey,
  type AmountInput,
  type CallOptions,
  type CreatedAccount,
  type LedgerEntry,
  type LedgerOptions,
  type ListTasksOptions,
  type Model,
  type NetworkStats,
  type Provider,
  type StunClientOptions,
  type SubmitTaskOptions,
  type TaskInfo,
  type TaskReceipt,
  type UploadModelOptions,
  type WaitOptions,
} from "./client";
export type { Health, Quote, ZkEscrowTerms } from "@stun/shared";
export type { WaitPath } from "./push";
export { openSealedTask, sealSubmit, type SealedTaskKey, type TeeOptions } from "./sealed";
export { StunApiError, isStunApiError, errorFromResponse, type ClientErrorCode, type StunErrorCode } from "./errors";
export {
  decodeTensor,
  dtypeOfTypedArray,
  flattenNested,
  toRawTensor,
  toTensor,
  toTensorJson,
  valuesToArray,
  type DtypeArrays,
  type NestedArray,
  type RawTensor,
  type Scalar,
  type Tensor,
  type TensorInit,
  type TensorInput,
  type ToRawOptions,
  type TypedArray,
} from "./tensors";
