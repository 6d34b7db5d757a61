import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface S3TestServer {
  endpoint: string
  bucket: string
  accessKeyId: string
  secretAccessKey: string
  region: string
  stop(): Promise<void>
}

const START_TIMEOUT_MS = 15_000

// s3rver runs under Node, not in-process: under Bun its listings come back unsorted (Bun's readdirSync does
// not sort, libuv's does) and any truncated ListObjectsV2 page fails with InternalError (it builds continuation
// tokens with the 'des' cipher, which Bun lacks and Node >= 17 only has with --openssl-legacy-provider).
// The child exits when its stdin closes, so a crashed test run leaves no server behind.
const SCRIPT = `
const [modulePath, directory, bucket] = process.argv.slice(1)
const S3rver = require(modulePath)
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] })
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (err) => { console.error(err); process.exit(1) },
)
process.stdin.on('end', () => process.exit(0)).resume()
`

/** A real S3-protocol server (s3rver) on a free loopback port, with one empty bucket, data in a temp dir. */
export async function startS3Server(): Promise<S3TestServer> {
  const bucket = 'taskbase-test'
  const directory = await mkdtemp(join(tmpdir(), 'taskbase-s3-'))
  const argv = ['node', '--openssl-legacy-provider', '-e', SCRIPT, Bun.resolveSync('s3rver', import.meta.dir)]
  let child: Bun.Subprocess<'pipe', 'pipe', 'pipe'>
  try {
    child = Bun.spawn([...argv, directory, bucket], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' })
  } catch (err) {
    await rm(directory, { recursive: true, force: true })
    throw new Error(`s3rver did not start: cannot run node: ${(err as Error).message}`)
  }
  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= (async () => {
      child.kill()
      await child.exited
      await rm(directory, { recursive: true, force: true })
    })()
    return stopped
  }
  try {
    const port = await readPort(child)
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      region: 'us-east-1',
      stop,
    }
  } catch (err) {
    await stop()
    const stderr = await new Response(child.stderr).text().catch(() => '')
    throw new Error(`s3rver did not start: ${(err as Error).message}${stderr ? `\n${stderr}` : ''}`)
  }
}

async function readPort(child: Bun.Subprocess<'pipe', 'pipe', 'pipe'>): Promise<number> {
  const reader = child.stdout.getReader()
  const decoder = new TextDecoder()
  let out = ''
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no port after ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)
  })
  try {
    while (!out.includes('\n')) {
      const { done, value } = await Promise.race([reader.read(), timeout])
      if (done) throw new Error(`node exited with code ${await child.exited}`)
      out += decoder.decode(value, { stream: true })
    }
  } finally {
    clearTimeout(timer)
    reader.releaseLock()
  }
  return (JSON.parse(out.slice(0, out.indexOf('\n'))) as { port: number }).port
}
