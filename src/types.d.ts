declare module '*.sql' {
  const text: string
  export default text
}
// Files embedded with `with { type: 'file' }`: the import is a path (a $bunfs path inside the binary).
declare module '@electric-sql/pglite/pglite.wasm' {
  const path: string
  export default path
}
declare module '@electric-sql/pglite/initdb.wasm' {
  const path: string
  export default path
}
declare module '@electric-sql/pglite/pglite.data' {
  const path: string
  export default path
}
declare module 'swagger-ui-dist/swagger-ui.css' {
  const path: string
  export default path
}
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const path: string
  export default path
}
