import { describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { csvCell, csvRow } from '../../src/lib/csv'
import { exportFormat } from '../../src/modules/tasks/export'
import { createUser, expectProblem } from '../helpers/app'
import { API, makeProject, makeTask, team, testApp } from '../helpers/projects-fixtures'

/** A minimal RFC 4180 parser for checking the output. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(cell)
      cell = ''
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += ch
  }
  return rows
}

describe('csv helpers', () => {
  test('quotes per RFC 4180 and neutralizes formulas', () => {
    expect(csvCell('plain')).toBe('plain')
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"')
    for (const s of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])
      expect(csvCell(s).replace(/^"/, '').startsWith("'")).toBe(true)
    expect(csvCell(null)).toBe('')
    expect(csvCell(undefined)).toBe('')
    expect(csvCell(42)).toBe('42')
    expect(csvCell(['=a', 'b'])).toBe("'=a;b")
    expect(csvCell(new Date('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00.000Z')
    expect(csvRow(['a', 1])).toBe('a,1\r\n')
  })

  test('format negotiation', () => {
    expect(exportFormat(undefined, undefined)).toBe('csv')
    expect(exportFormat(undefined, 'application/x-ndjson')).toBe('ndjson')
    expect(exportFormat('csv', 'application/x-ndjson')).toBe('csv')
    expect(exportFormat('ndjson', 'text/csv')).toBe('ndjson')
  })
})

describe('GET /projects/{id}/tasks/export', () => {
  test('CSV with header, quoting, formula protection and filters; more than one batch', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    await makeTask(ctx, me, p.id, {
      title: '=HYPERLINK("http://evil")',
      description: 'multi\nline, "quoted"',
      labels: ['a', 'b'],
    })
    await makeTask(ctx, me, p.id, { title: '@cmd', status: 'done' })
    // 1100 more rows straight in SQL so the export needs three batches
    await ctx.database.rows(sql`
      insert into tasks (id, project_id, number, title, created_by)
      select gen_random_uuid(), ${p.id}, n, 'bulk ' || n, ${me.id} from generate_series(3, 1102) n`)
    const res = await ctx.req('GET', `${API}/projects/${p.id}/tasks/export`, { token: me.token })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/csv')
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${p.slug}-tasks.csv"`)
    const rows = parseCsv(res.text)
    expect(rows[0]).toEqual([
      'id',
      'project_id',
      'number',
      'title',
      'description',
      'status',
      'priority',
      'assignee_id',
      'labels',
      'due_date',
      'completed_at',
      'created_by',
      'created_at',
      'updated_at',
      'version',
    ])
    expect(rows.length).toBe(1 + 1102)
    expect(rows[1]![3]).toBe(`'=HYPERLINK("http://evil")`)
    expect(rows[1]![4]).toBe('multi\nline, "quoted"')
    expect(rows[1]![8]).toBe('a;b')
    expect(rows[2]![3]).toBe("'@cmd")
    expect(rows.slice(1).map((r) => Number(r[2]))).toEqual(Array.from({ length: 1102 }, (_, i) => i + 1))
    const done = parseCsv(
      (await ctx.req('GET', `${API}/projects/${p.id}/tasks/export?status=done`, { token: me.token })).text,
    )
    expect(done.length).toBe(2)
    expect(done[1]![2]).toBe('2')
  })

  test('NDJSON by format or Accept; one task object per line', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const t1 = await makeTask(ctx, me, p.id)
    const t2 = await makeTask(ctx, me, p.id, { priority: 'high' })
    for (const [qs, headers] of [
      ['?format=ndjson', {}],
      ['', { accept: 'application/x-ndjson' }],
    ] as const) {
      const res = await ctx.req('GET', `${API}/projects/${p.id}/tasks/export${qs}`, {
        token: me.token,
        headers,
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toStartWith('application/x-ndjson')
      expect(res.headers.get('content-disposition')).toContain('.ndjson')
      const lines = res.text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines.map((l) => l.id)).toEqual([t1.id, t2.id])
      expect(lines[1]).toEqual(t2)
    }
    const high = await ctx.req('GET', `${API}/projects/${p.id}/tasks/export?format=ndjson&priority=high`, {
      token: me.token,
    })
    expect(high.text.trimEnd().split('\n').length).toBe(1)
  })

  test('outsiders 404, viewers may export, bad filters 422, bad format 422', async () => {
    const ctx = await testApp()
    const { project, viewer, outsider } = await team(ctx)
    expectProblem(
      await ctx.req('GET', `${API}/projects/${project.id}/tasks/export`, { token: outsider.token }),
      404,
    )
    expect(
      (await ctx.req('GET', `${API}/projects/${project.id}/tasks/export`, { token: viewer.token })).status,
    ).toBe(200)
    expectProblem(
      await ctx.req('GET', `${API}/projects/${project.id}/tasks/export?status=x`, { token: viewer.token }),
      422,
    )
    expectProblem(
      await ctx.req('GET', `${API}/projects/${project.id}/tasks/export?format=xml`, { token: viewer.token }),
      422,
    )
    expectProblem(await ctx.req('GET', `${API}/projects/${project.id}/tasks/export`), 401)
  })
})
