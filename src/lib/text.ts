/** For single-line free text (name, title, full_name, labels): drop HTML tags, collapse control chars, trim. */
export function cleanLine(value: string): string {
  return (
    value
      .replace(/<[^>]*>?/g, '')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
  )
}
