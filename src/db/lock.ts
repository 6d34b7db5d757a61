import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by another Taskbase process (pid ${pid}); ` +
        'stop it first, or point DATABASE_URL at a PostgreSQL server to run several processes',
    )
    this.name = 'DataDirLockedError'
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes DATA_DIR/taskbase.lock with O_EXCL, holding our pid. A lock whose process is gone
 * (killed, crashed, or a recycled pid equal to ours, as in containers) is stale and replaced.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, 'taskbase.lock')
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      let released = false
      return () => {
        if (released) return
        released = true
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true })
        } catch {}
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      let holder = Number.NaN
      try {
        holder = Number(readFileSync(path, 'utf8').trim())
      } catch {}
      if (alive(holder)) throw new DataDirLockedError(dataDir, holder)
      if (existsSync(path)) rmSync(path, { force: true })
    }
  }
  throw new Error(`could not take the lock ${path}`)
}
