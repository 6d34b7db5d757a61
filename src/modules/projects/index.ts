import { Elysia } from 'elysia'
import type { ModuleDeps } from '../../deps'

/** Projects, members, tasks, comments, activity and export (API.md, Projects / Tasks and comments). */
export const projectsModule = ({ auth }: ModuleDeps) => new Elysia({ name: 'projects' }).use(auth)
