#!/usr/bin/env node
// Makes the Python SDK's virtual environment (.venv-python/ at the repo root, gitignored) and installs
// sdks/python editable with its test extras — only when needed: the venv is stamped with the hash of
// sdks/python/pyproject.toml and the interpreter's version. Installs are offline-friendly: pip gets
// PIP_RETRIES=0, so an unreachable default index is skipped at once in favour of the machine's local
// mirror (pip.conf's extra-index-url / find-links). Prints the venv's python path as its last line.
//
// Interpreter: $STUN_PYTHON, else /usr/bin/python3, else python3 on PATH (Python ≥ 3.10 with venv).
// Concurrent callers serialize on a lock directory (.venv-python.lock).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const venv = path.join(root, ".venv-python");
const lock = `${venv}.lock`;
const stampFile = path.join(venv, ".stun-stamp");
const pyproject = path.join(root, "sdks/python/pyproject.toml");
const venvPython = path.join(venv, "bin", "python");

function interpreter() {
  const candidates = [process.env.STUN_PYTHON, "/usr/bin/python3", "python3"].filter(Boolean);
  for (const py of candidates) {
    try {
      const v = execFileSync(py, ["-c", "import sys, venv, ensurepip; print('%d.%d.%d' % sys.version_info[:3])"], { encoding: "utf8" }).trim();
      const [major, minor] = v.split(".").map(Number);
      if (major === 3 && minor >= 10) return { py, version: v };
    } catch {
      // not there, too old, or without venv/ensurepip: try the next
    }
  }
  throw new Error(`no Python >= 3.10 with venv found (tried ${candidates.join(", ")}); set STUN_PYTHON`);
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function withLock(fn) {
  const until = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      // A lock older than 10 minutes was left by a killed run.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 10 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > until) throw new Error(`timed out waiting for ${lock}`);
      sleep(250);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function ensurePython({ quiet = false } = {}) {
  const { py, version } = interpreter();
  const stamp = createHash("sha256").update(readFileSync(pyproject)).update(`\0${py}\0${version}\0${root}`).digest("hex");
  const fresh = () => existsSync(venvPython) && existsSync(stampFile) && readFileSync(stampFile, "utf8").trim() === stamp;
  if (fresh()) return venvPython;
  return withLock(() => {
    if (fresh()) return venvPython;
    const io = quiet ? ["ignore", "ignore", "inherit"] : "inherit";
    execFileSync(py, ["-m", "venv", "--clear", venv], { stdio: io });
    const env = { ...process.env, PIP_RETRIES: "0", PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1" };
    execFileSync(venvPython, ["-m", "pip", "install", "--quiet", "-e", `${path.join(root, "sdks/python")}[test]`], { stdio: io, env });
    writeFileSync(stampFile, `${stamp}\n`);
    return venvPython;
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(ensurePython({ quiet: process.argv.includes("--quiet") }));
}
