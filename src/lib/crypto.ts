export const sha256Hex = (value: string) => new Bun.CryptoHasher('sha256').update(value).digest('hex')

/** URL-safe random secret of `bytes` bytes. */
export const randomToken = (bytes = 32) =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('base64url')
