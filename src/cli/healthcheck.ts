import { type CliIO, settingsOrExit } from './common'

/** Exit 0 when /health answers 200 on the configured port, 1 otherwise (Docker HEALTHCHECK; no curl needed). */
export async function healthcheckCommand(io: CliIO): Promise<number> {
  const settings = settingsOrExit(io, { persistSecret: false })
  const host = ['0.0.0.0', '::', ''].includes(settings.HOST) ? '127.0.0.1' : settings.HOST
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${settings.PORT}/health`
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) })
    if (res.status === 200) return 0
    io.stderr(`taskbase healthcheck: ${url} answered ${res.status}\n`)
  } catch (e) {
    io.stderr(`taskbase healthcheck: ${url} unreachable (${(e as Error).message})\n`)
  }
  return 1
}
