export { abortable, SharedInterest, SharedWork } from "./abort";
export { type DownloadSource, downloadModel, downloadVerified, type VerifiedDownload } from "./download";
export { ProviderError, errorMessage } from "./errors";
export { refuseUnlessSelfContained } from "./model-refusal";
export { currentServer, serverList, serverUrl, type ServerRef } from "./server-url";
export { ProviderSession, type ProviderSessionOptions, type SessionEvent, type TaskExecutor, type TaskOutcome } from "./session";
export { sha256Hex, sha256Js } from "./sha256";
export { openProviderSocket, openProviderSockets, type ProviderSocket } from "./socket";
export { ortToWire, wireToOrt, type OrtTensorLike, type OrtTensorModule } from "./tensors";
