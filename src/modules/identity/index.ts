import { Elysia } from 'elysia'
import type { IdentityDeps } from '../../deps'

/** Auth, users, sessions, API tokens and user administration (API.md, Identity). */
export const identityModule = ({ auth }: IdentityDeps) => new Elysia({ name: 'identity' }).use(auth)
