import { describe, expect, it } from "vitest";
import { detectHardware, parseNvidiaSmiCsv } from "../src/hardware";

describe("parseNvidiaSmiCsv", () => {
  it("parses nvidia-smi --format=csv,noheader,nounits output for several GPUs", () => {
    const csv = "NVIDIA GeForce RTX 4090, 24564, 8.9, 550.54.14\nNVIDIA A100-SXM4-80GB, 81920, 8.0, 535.104.05\n";
    expect(parseNvidiaSmiCsv(csv)).toEqual([
      { name: "NVIDIA GeForce RTX 4090", vramMb: 24564, computeCapability: 8.9, driver: "550.54.14" },
      { name: "NVIDIA A100-SXM4-80GB", vramMb: 81920, computeCapability: 8, driver: "535.104.05" },
    ]);
  });

  it("copes with CRLF, blank lines, [N/A] fields, units, names with commas and warning lines", () => {
    const csv = [
      "",
      "WARNING: infoROM is corrupted at gpu 0000:01:00.0",
      "Tesla T4, 15360 MiB, [N/A], 470.82.01\r",
      "Weird, Inc. GPU, 8192, 7.5, [Not Supported]",
      "garbage line",
      "GPU, notanumber, 7.5, 1.0",
      "",
    ].join("\n");
    expect(parseNvidiaSmiCsv(csv)).toEqual([
      { name: "Tesla T4", vramMb: 15360, driver: "470.82.01" },
      { name: "Weird, Inc. GPU", vramMb: 8192, computeCapability: 7.5 },
    ]);
  });

  it("returns [] for empty output", () => {
    expect(parseNvidiaSmiCsv("")).toEqual([]);
  });
});

describe("detectHardware", () => {
  it("reports cores, memory and the CPU model; no nvidia-smi means no GPUs", async () => {
    const hw = await detectHardware({ nvidiaSmi: async () => null });
    expect(hw.cores).toBeGreaterThanOrEqual(1);
    expect(hw.memoryMb).toBeGreaterThan(0);
    expect(hw.gpus).toEqual([]);
  });

  it("uses nvidia-smi's answer when there is one", async () => {
    const hw = await detectHardware({ nvidiaSmi: async () => "NVIDIA L4, 23034, 8.9, 550.90.07\n" });
    expect(hw.gpus).toEqual([{ name: "NVIDIA L4", vramMb: 23034, computeCapability: 8.9, driver: "550.90.07" }]);
  });

  it("runs the real detection on this machine without throwing", async () => {
    const hw = await detectHardware();
    expect(Array.isArray(hw.gpus)).toBe(true);
  });
});
