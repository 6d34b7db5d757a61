import { beforeAll, expect, test } from 'bun:test'
import { lookup } from 'node:dns/promises'
import { eq } from 'drizzle-orm'
import { webhooks } from '../../../src/db/schema'
import { createTestApp, expectProblem, type TestContext } from '../../helpers/app'
import { API, team } from '../../helpers/projects-fixtures'

/**
 * SSRF refusals through HTTP: every URL below is a 422 at create and at update, and leaves no
 * webhook behind. Names in DNS are answered from this table (what a hostile DNS server could say),
 * anything else by the system resolver (`localhost`, `.invalid`).
 */
const DNS: Record<string, string[]> = {
  'hooks.example.com': ['93.184.215.14'],
  'internal.attacker.example': ['10.1.2.3'],
  'mixed.attacker.example': ['93.184.215.14', '127.0.0.1'],
  'v6-loopback.attacker.example': ['::1'],
  'v6-mapped.attacker.example': ['::ffff:169.254.169.254'],
  'metadata.google.internal': ['169.254.169.254'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'ula.attacker.example': ['fd12:3456:789a::1'],
}
const resolve = async (host: string) =>
  DNS[host] ?? (await lookup(host, { all: true, verbatim: true })).map((a) => a.address)

const HOSTILE: [url: string, why: string][] = [
  ['http://127.0.0.1/hook', 'loopback'],
  ['http://localhost:8080/hook', 'loopback by name (system resolver)'],
  ['http://2130706433/', 'loopback as one decimal number'],
  ['http://0x7f.1/', 'loopback in hex, short form'],
  ['http://017700000001/', 'loopback as one octal number'],
  ['http://0177.0.0.1/', 'loopback with an octal first part'],
  ['http://127.1/', 'loopback, two-part form'],
  ['http://１２７.０.０.１/', 'loopback in full-width digits (IDNA maps them)'],
  ['http://0/', 'unspecified as one number'],
  ['http://0.0.0.0/', 'unspecified'],
  ['http://10.0.0.1/', 'private 10/8'],
  ['http://172.16.5.4/', 'private 172.16/12'],
  ['http://192.168.1.1/', 'private 192.168/16'],
  ['http://100.64.0.1/', 'carrier-grade NAT'],
  ['http://169.254.169.254/latest/meta-data/', 'cloud metadata (link-local)'],
  ['http://100.100.100.200/', 'Alibaba metadata (carrier-grade NAT)'],
  ['http://224.0.0.1/', 'multicast'],
  ['http://255.255.255.255/', 'broadcast'],
  ['http://240.0.0.1/', 'reserved 240/4'],
  ['http://[::1]/', 'IPv6 loopback'],
  ['http://[::]/', 'IPv6 unspecified'],
  ['http://[::ffff:127.0.0.1]/', 'IPv4-mapped loopback'],
  ['http://[::ffff:a9fe:a9fe]/', 'IPv4-mapped metadata in hex'],
  ['http://[::127.0.0.1]/', 'IPv4-compatible loopback'],
  ['http://[fe80::1]/', 'IPv6 link-local'],
  ['http://[fc00::1]/', 'IPv6 unique-local'],
  ['http://[fd00:ec2::254]/', 'AWS metadata over IPv6'],
  ['http://[ff02::1]/', 'IPv6 multicast'],
  ['http://[64:ff9b::7f00:1]/', 'NAT64 of loopback'],
  ['http://[2002:7f00:1::]/', '6to4 of loopback'],
  ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'Teredo'],
  ['http://internal.attacker.example/', 'a name that resolves to a private address'],
  ['http://mixed.attacker.example/', 'a name with one public and one loopback answer'],
  ['http://v6-loopback.attacker.example/', 'a name that resolves to ::1'],
  ['http://v6-mapped.attacker.example/', 'a name that resolves to IPv4-mapped metadata'],
  ['http://metadata.google.internal/computeMetadata/v1/', 'GCP metadata name'],
  ['http://127.0.0.1.nip.io/', 'wildcard DNS to loopback'],
  ['http://ula.attacker.example/', 'a name that resolves to a unique-local address'],
  ['http://no-such-host.invalid/', 'a name that does not resolve'],
  ['http://user:pass@hooks.example.com/', 'credentials in the URL'],
  ['http://127.0.0.1:80@hooks.example.com/', 'credentials that look like a host'],
  ['ftp://hooks.example.com/', 'not http(s)'],
  ['file:///etc/passwd', 'a file URL'],
  ['gopher://127.0.0.1:6379/_PING', 'gopher to Redis'],
  ['javascript:alert(1)', 'not a network URL'],
  ['//hooks.example.com/hook', 'not absolute'],
  ['http://[fe80::1%25eth0]/', 'IPv6 zone id'],
  [`https://hooks.example.com/${'a'.repeat(2_100)}`, 'longer than 2,048 characters'],
]

let ctx: TestContext
beforeAll(async () => {
  ctx = await createTestApp({ deps: { resolve } })
})

test(`${HOSTILE.length} hostile URLs are 422 at create and update and store nothing`, async () => {
  expect(HOSTILE.length).toBeGreaterThanOrEqual(25)
  const { owner, project } = await team(ctx)
  const good = await ctx.req('POST', `${API}/projects/${project.id}/webhooks`, {
    token: owner.token,
    body: { url: 'https://hooks.example.com/ok', events: ['*'] },
  })
  expect(good.status).toBe(201)
  const accepted: string[] = []
  for (const [url, why] of HOSTILE) {
    const created = await ctx.req('POST', `${API}/projects/${project.id}/webhooks`, {
      token: owner.token,
      body: { url, events: ['*'] },
    })
    const updated = await ctx.req('PATCH', `${API}/webhooks/${good.body.id}`, {
      token: owner.token,
      body: { url },
    })
    if (created.status !== 422 || updated.status !== 422) accepted.push(`${url} (${why})`)
    else {
      expect(expectProblem(created, 422, 'validation_failed').errors?.[0]?.field).toBe('url')
      expectProblem(updated, 422, 'validation_failed')
    }
  }
  expect(accepted).toEqual([])
  const rows = await ctx.db.select().from(webhooks).where(eq(webhooks.projectId, project.id))
  expect(rows.map((r) => [r.url, r.version])).toEqual([['https://hooks.example.com/ok', 1]])
})

test('WEBHOOK_ALLOW_PRIVATE lifts the address check but not the URL rules', async () => {
  const onPrem = await createTestApp({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' }, deps: { resolve } })
  const { owner, project } = await team(onPrem)
  const create = (url: string) =>
    onPrem.req('POST', `${API}/projects/${project.id}/webhooks`, {
      token: owner.token,
      body: { url, events: ['*'] },
    })
  expect((await create('http://10.0.0.1/hook')).status).toBe(201)
  expect((await create('http://internal.attacker.example/')).status).toBe(201)
  expectProblem(await create('http://user:pass@10.0.0.1/'), 422)
  expectProblem(await create('file:///etc/passwd'), 422)
})
