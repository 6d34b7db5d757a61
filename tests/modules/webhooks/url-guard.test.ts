import { expect, test } from 'bun:test'
import { addressRefusal, resolveTarget } from '../../../src/modules/webhooks/url-guard'

const guard = { allowPrivate: false, httpsOnly: false }

test('names are resolved by the system resolver and every answer must be public', async () => {
  await expect(resolveTarget('http://localhost:9/hook', guard)).rejects.toThrow('loopback')
  await expect(resolveTarget('http://no-such-host.invalid/', guard)).rejects.toThrow('does not resolve')
})

test('numeric spellings and special ranges are refused; public unicast passes', async () => {
  for (const url of [
    'http://2130706433/',
    'http://0x7f.1/',
    'http://017700000001/',
    'http://127.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::7f00:1]/',
    'http://169.254.169.254/',
    'http://[fd00:ec2::254]/',
    'http://100.100.100.200/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://[64:ff9b::a00:1]/',
  ])
    await expect(resolveTarget(url, guard)).rejects.toThrow('not allowed')
  expect(addressRefusal('93.184.215.14')).toBeNull()
  expect(addressRefusal('2606:2800:21f:cb07:6820:80da:af6b:8b2c')).toBeNull()
  expect(addressRefusal('nope')).toBe('not an IP address')
  expect((await resolveTarget('https://93.184.215.14/x#frag', guard)).url.toString()).toBe(
    'https://93.184.215.14/x',
  )
})
