import type { ModelView, TensorInfo } from "@stun/shared";

/** A model as stored (`Model` row); `toModelView` is how the API shows it. */

export type ModelRow = {
  id: string;
  sha256: string;
  name: string;
  sizeBytes: number;
  inputs: unknown;
  outputs: unknown;
  /** QA calibration (models/calibration.ts calibrationOf), null until calibrated. */
  calibration?: unknown;
  ownerId: string;
  createdAt: Date;
};

export const toModelView = (m: ModelRow): ModelView => ({
  id: m.id,
  sha256: m.sha256,
  name: m.name,
  sizeBytes: m.sizeBytes,
  inputs: m.inputs as TensorInfo[],
  outputs: m.outputs as TensorInfo[],
  ownerId: m.ownerId,
  createdAt: m.createdAt.toISOString(),
});
