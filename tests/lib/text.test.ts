import { describe, expect, test } from 'bun:test'
import { cleanFields, cleanLine } from '../../src/lib/text'
import { createUser, expectProblem } from '../helpers/app'
import { API, makeProject, testApp } from '../helpers/projects-fixtures'

// Inputs that made the old fixpoint loop quadratic (one nesting level removed per pass).
const MIB = 1 << 20
const adversarial = {
  nested: `${'<'.repeat(MIB / 2)}a${'>a'.repeat(MIB / 4)}`,
  lts: '<'.repeat(MIB),
  gtsNested: '<<<<a>a>a>'.repeat(MIB / 10),
  comments: '<!--'.repeat(MIB / 4),
  openTags: '<a'.repeat(MIB / 2),
  decls: '<!'.repeat(MIB / 2),
}

describe('cleanLine is linear and safe', () => {
  // The bound is the test's own 5 s timeout (whatever --timeout the run uses), far above the 3-65 ms
  // one pass takes and far below the ~22 minutes the old loop needed for 1 MiB.
  for (const [name, input] of Object.entries(adversarial)) {
    test(`1 MiB adversarial input (${name}) is cleaned in one pass`, () => {
      const out = cleanLine(input)
      expect(out).not.toMatch(/<[a-zA-Z/!?]/)
      expect(cleanLine(out)).toBe(out)
    }, 5_000)
  }

  test('unterminated tags with attributes are dropped; a bare <word stays text', () => {
    expect(cleanLine('hi <img src=x onerror=alert(1)//')).toBe('hi')
    expect(cleanLine('<svg/onload=alert(1)')).toBe('')
    expect(cleanLine('a</b x')).toBe('a')
    expect(cleanLine('R&D <internal')).toBe('R&D <internal')
    expect(cleanLine('a <!doctype html')).toBe('a')
  })

  test('removing markup never glues a lone < to a letter', () => {
    expect(cleanLine('<<b>script>alert(1)')).toBe('script>alert(1)')
    expect(cleanLine('<<<<b>a')).toBe('a')
    expect(cleanLine('<<!-- x -->img src=x>')).toBe('img src=x>')
    expect(cleanLine('x <\u0001b')).toBe('x < b')
  })

  test('is idempotent on a corpus of tricky strings', () => {
    const corpus = [
      '<scr<b>ipt>alert(1)</scr</b>ipt>',
      '<<script>script>alert(1)<</script>/script>',
      'a<!-- unterminated',
      '1<2 & 3>2',
      '<3 you <b>bold</b>',
      '\u0000\u0001<i>x</i>\u007f',
      '<a href="x">link</a><',
    ]
    for (const s of corpus) expect(cleanLine(cleanLine(s))).toBe(cleanLine(s))
  })

  test('cleanFields leaves values over their maximum for validation to refuse', () => {
    const body: Record<string, unknown> = {
      name: `${'<b>'.repeat(10)}x`,
      title: '<b>ok</b>',
      labels: ['<i>a</i>', '<b>'.repeat(30)],
    }
    cleanFields({ fields: { name: 20, title: 50 }, arrays: { labels: { maxLength: 50, maxItems: 5 } } })({
      body,
    })
    expect(body.name).toBe(`${'<b>'.repeat(10)}x`)
    expect(body.title).toBe('ok')
    expect(body.labels).toEqual(['a', '<b>'.repeat(30)])
    const many = { labels: Array.from({ length: 6 }, () => '<b>x</b>') }
    cleanFields({ arrays: { labels: { maxLength: 50, maxItems: 5 } } })({ body: many })
    expect(many.labels[0]).toBe('<b>x</b>')
  })
})

describe('text cleaning over HTTP', () => {
  const big = '<<<<a>a>a>'.repeat(100_000) // ~1 MB, under MAX_BODY_BYTES

  test('an anonymous 1 MB tag bomb gets its 401 (projects) or 202/422 (reset) at once', async () => {
    const ctx = await testApp()
    const anon = await ctx.req('POST', `${API}/projects`, { body: { name: big } })
    expectProblem(anon, 401)
    const reset = await ctx.req('POST', `${API}/auth/password-reset/request`, {
      body: { email: `${big}@example.com` },
    })
    expect([202, 422]).toContain(reset.status)
    const register = await ctx.req('POST', `${API}/auth/register`, {
      body: { email: 'bomb@example.com', username: 'bomb_user', password: 'Sup3r-Secret!', full_name: big },
    })
    expectProblem(register, 422)
  })

  test('an authenticated bomb is refused by length validation, and tags still cannot make a name', async () => {
    const ctx = await testApp()
    const owner = await createUser(ctx)
    expectProblem(await ctx.req('POST', `${API}/projects`, { token: owner.token, body: { name: big } }), 422)
    expectProblem(
      await ctx.req('POST', `${API}/projects`, { token: owner.token, body: { name: '<b></b>' } }),
      422,
    )
    const p = await makeProject(ctx, owner, { name: 'Plan <img src=x onerror=alert(1)//' })
    expect(p.name).toBe('Plan')
    const task = await ctx.req('POST', `${API}/projects/${p.id}/tasks`, {
      token: owner.token,
      body: { title: `${'<'.repeat(400)}b>x`, labels: ['<i>a</i>', big.slice(0, 60)] },
    })
    expectProblem(task, 422) // the 60-char label is over 50: refused, not cleaned
    const ok = await ctx.req('POST', `${API}/projects/${p.id}/tasks`, {
      token: owner.token,
      body: { title: `${'<'.repeat(400)}b>x`, labels: ['<i>a</i>'] },
    })
    expect(ok.status).toBe(201)
    expect(ok.body.title).toBe('x')
    expect(ok.body.labels).toEqual(['a'])
  })
})

describe('cleanLine: what it keeps and drops', () => {
  test('strips tags and control characters and trims', () => {
    expect(cleanLine('  <b>Hi</b> <script>alert(1)</script>there\u0000\n ')).toBe('Hi alert(1)there')
    expect(cleanLine('<img src=x onerror=alert(1)>')).toBe('')
  })

  test('keeps ordinary text around a lone < or >', () => {
    expect(cleanLine('x < 5 and y > 3')).toBe('x < 5 and y > 3')
    expect(cleanLine('a < b')).toBe('a < b')
    expect(cleanLine('R&D <internal')).toBe('R&D <internal')
    expect(cleanLine('1<2 & 3>2')).toBe('1<2 & 3>2')
    expect(cleanLine('<3 you')).toBe('<3 you')
    expect(cleanLine('a <= b -> c')).toBe('a <= b -> c')
  })

  test('still removes real tags, comments and XSS payloads', () => {
    expect(cleanLine('<script>alert(1)</script>')).toBe('alert(1)')
    expect(cleanLine('<svg/onload=alert(1)>')).toBe('')
    expect(cleanLine('Hi <IMG SRC=x onerror=alert(1)> there')).toBe('Hi  there')
    expect(cleanLine('a<!-- hidden <b>x</b> -->b')).toBe('ab')
    expect(cleanLine('a<!-- unterminated')).toBe('a')
    expect(cleanLine('<<script>script>alert(1)<</script>/script>')).not.toMatch(/<\/?script/i)
    expect(cleanLine('<a href="x">link</a>\u0007\ttab')).toBe('link tab')
    expect(cleanLine('<scr<b>ipt>alert(1)</scr</b>ipt>')).not.toMatch(/<\/?[a-z]/i)
  })
})
