/**
 * PGlite has no server to arbitrate between processes: two processes opening one data
 * directory would corrupt it. A lock file holding the owner's pid makes the second one
 * fail with a clear message instead. A lock left by a dead process is taken over.
 */
import { openSync, closeSync, writeSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";

export interface DataDirLock {
  release(): void;
}

export class DataDirInUseError extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`DATA_DIR ${dataDir} is in use by another Ledgerline process (pid ${pid}); stop it or choose another DATA_DIR`);
    this.name = "DataDirInUseError";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The pid in the lock file; null when there is none (a crash left it empty or garbled);
 * "gone" when the file vanished. A file that is still empty may belong to a process that
 * has just created it and not yet written its pid: give it a moment before calling it
 * stale, or both processes would end up holding the directory.
 */
function readOwner(path: string): number | null | "gone" {
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = readFileSync(path, "utf8").trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
      throw err;
    }
    if (text === "" && attempt < 10) {
      Bun.sleepSync(20);
      continue;
    }
    const pid = /^\d+$/.test(text) ? Number(text) : NaN;
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  }
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = join(dataDir, "ledgerline.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
      process.once("exit", release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = readOwner(path);
      if (owner === "gone") continue; // released meanwhile: try again
      if (owner !== null && owner !== process.pid && alive(owner)) {
        throw new DataDirInUseError(dataDir, owner);
      }
      // Stale lock from a crashed process.
      try {
        unlinkSync(path);
      } catch {
        /* raced with another taker */
      }
    }
  }
  throw new Error(`could not lock DATA_DIR ${dataDir}`);
}
