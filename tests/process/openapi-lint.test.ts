import { expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { servedDocument } from '../helpers/declared-statuses'

const ROOT = `${import.meta.dir}/../..`

test("the document has no error under Redocly's recommended ruleset (the pinned @redocly/cli)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'taskbase-openapi-'))
  try {
    const file = join(dir, 'openapi.json')
    writeFileSync(file, JSON.stringify(await servedDocument()))
    const run = Bun.spawnSync(
      [
        'bun',
        `${ROOT}/node_modules/@redocly/cli/bin/cli.js`,
        'lint',
        '--format=json',
        '--max-problems=500',
        file,
      ],
      {
        cwd: dir,
        env: {
          ...process.env,
          REDOCLY_TELEMETRY: 'off',
          REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
          NO_COLOR: '1',
        },
        stdout: 'pipe',
        stderr: 'pipe',
      },
    )
    const out = run.stdout.toString()
    const report = JSON.parse(out.slice(out.indexOf('{'))) as {
      totals: { errors: number; warnings: number }
      problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[]
    }
    const errors = report.problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`)
    expect(errors).toEqual([])
    expect(report.totals.errors).toBe(0)
    // the warnings left: the missing license (the project declares none), and the realtime
    // upgrade, whose success is a 101 (Switching Protocols), not a 2xx
    expect(
      report.problems
        .filter((p) => p.severity === 'warn')
        .map((p) => `${p.ruleId} ${p.location[0]?.pointer ?? ''}`.trim())
        .sort(),
    ).toEqual(['info-license #/info', 'operation-2xx-response #/paths/~1api~1v1~1realtime/get/responses'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)
