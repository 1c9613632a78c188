/**
 * Attestation reports through Linux configfs-tsm (Documentation/ABI/testing/configfs-tsm): make an
 * entry, write 64 bytes of report data to `inblob`, read the quote/report from `outblob` (and, for
 * SEV-SNP, the certificate table from `auxblob`), remove the entry. Reading `outblob` after the
 * write is what makes the hardware produce the report; `generation` guards against another writer.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";

export interface TsmReport {
  provider: string;
  outblob: Uint8Array;
  auxblob?: Uint8Array;
}

async function withEntry<T>(dir: string, use: (entry: string) => Promise<T>): Promise<T> {
  const entry = path.join(dir, `stun-${randomBytes(6).toString("hex")}`);
  await mkdir(entry);
  try {
    return await use(entry);
  } finally {
    await rmdir(entry).catch(() => undefined);
  }
}

/** The driver serving reports (tdx_guest, sev_guest). */
export const tsmProvider = (dir: string): Promise<string> => withEntry(dir, async (entry) => (await readFile(path.join(entry, "provider"), "utf8")).trim());

export async function tsmReport(dir: string, reportData: Uint8Array): Promise<TsmReport> {
  if (reportData.length !== 64) throw new RangeError("report data is 64 bytes");
  return withEntry(dir, async (entry) => {
    await writeFile(path.join(entry, "inblob"), reportData);
    const generation = (await readFile(path.join(entry, "generation"), "utf8")).trim();
    const outblob = new Uint8Array(await readFile(path.join(entry, "outblob")));
    const aux = await readFile(path.join(entry, "auxblob")).catch(() => undefined);
    if ((await readFile(path.join(entry, "generation"), "utf8")).trim() !== generation) throw new Error("configfs-tsm: another writer changed the report entry while it was read");
    const provider = (await readFile(path.join(entry, "provider"), "utf8")).trim();
    return { provider, outblob, ...(aux && aux.length > 0 ? { auxblob: new Uint8Array(aux) } : {}) };
  });
}

/** The VCEK's GUID in the SEV-SNP certificate table (AMD GHCB spec, "extended guest request"). */
export const VCEK_GUID = "63da758d-e664-4564-adc5-f4b93be8accd";
export const ASK_GUID = "4ab7b379-bbac-4fe4-a02f-05aef327c782";
export const ARK_GUID = "c0b406a4-a803-4952-9743-3fb6014cd0ae";

function guidAt(b: Uint8Array, at: number): string {
  // Mixed-endian, as in EFI_GUID: the first three fields little-endian.
  const h = (i: number) => b[at + i]!.toString(16).padStart(2, "0");
  return `${h(3)}${h(2)}${h(1)}${h(0)}-${h(5)}${h(4)}-${h(7)}${h(6)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}

/**
 * Parses the SEV-SNP certificate table (auxblob): entries of GUID (16) | offset (u32 LE) |
 * length (u32 LE), ended by an all-zero entry; offsets are from the table's start.
 */
export function parseSnpCertTable(table: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  for (let at = 0; at + 24 <= table.length; at += 24) {
    const guid = guidAt(table, at);
    const offset = view.getUint32(at + 16, true);
    const length = view.getUint32(at + 20, true);
    if (guid === "00000000-0000-0000-0000-000000000000" && offset === 0 && length === 0) return out;
    if (offset + length > table.length) throw new Error(`SEV-SNP certificate table: entry ${guid} runs past the table`);
    out.set(guid, table.slice(offset, offset + length));
  }
  throw new Error("SEV-SNP certificate table: no terminating entry");
}
