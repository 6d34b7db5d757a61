import { expect } from 'bun:test'
import { createTestApp, createUser, type TestContext, type TestUser, unique } from './app'

export const API = '/api/v1'

let shared: Promise<TestContext> | undefined
/** One app per test file process is enough: every test makes its own users and projects. */
export const testApp = () => {
  shared ??= createTestApp()
  return shared
}

export async function users(ctx: TestContext, n: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: n }, () => createUser(ctx)))
}

export async function makeProject(ctx: TestContext, owner: TestUser, body: Record<string, unknown> = {}) {
  const res = await ctx.req('POST', `${API}/projects`, {
    token: owner.token,
    body: { name: unique('Project '), ...body },
  })
  if (res.status !== 201) throw new Error(`project create failed: ${res.status} ${res.text}`)
  return res.body as { id: string; name: string; slug: string; version: number; owner_id: string }
}

export async function addMember(
  ctx: TestContext,
  owner: TestUser,
  projectId: string,
  user: TestUser,
  role: 'editor' | 'viewer' = 'editor',
) {
  const res = await ctx.req('POST', `${API}/projects/${projectId}/members`, {
    token: owner.token,
    body: { user_id: user.id, role },
  })
  expect(res.status).toBe(201)
  return res.body
}

export async function makeTask(
  ctx: TestContext,
  user: TestUser,
  projectId: string,
  body: Record<string, unknown> = {},
) {
  const res = await ctx.req('POST', `${API}/projects/${projectId}/tasks`, {
    token: user.token,
    body: { title: unique('Task '), ...body },
  })
  if (res.status !== 201) throw new Error(`task create failed: ${res.status} ${res.text}`)
  return res.body as { id: string; number: number; version: number; project_id: string } & Record<string, any>
}

/** A project with an owner, an editor, a viewer and an outsider. */
export async function team(ctx: TestContext) {
  const [owner, editor, viewer, outsider] = await users(ctx, 4)
  const project = await makeProject(ctx, owner!)
  await addMember(ctx, owner!, project.id, editor!, 'editor')
  await addMember(ctx, owner!, project.id, viewer!, 'viewer')
  return { owner: owner!, editor: editor!, viewer: viewer!, outsider: outsider!, project }
}

export const MISSING_ID = '01900000-0000-7000-8000-000000000000'
