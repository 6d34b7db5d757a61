export * from './identity'
export * from './jobs'
export * from './projects'
export * from './webhooks'
