import { type FieldError, STATUS_TITLES } from './errors'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export interface ProblemInit {
  status: number
  code: string
  detail: string
  instance: string
  requestId: string
  errors?: FieldError[]
  headers?: Record<string, string>
}

export function problemBody(p: ProblemInit) {
  return {
    type: 'about:blank',
    title: STATUS_TITLES[p.status] ?? 'Error',
    status: p.status,
    code: p.code,
    detail: p.detail,
    instance: p.instance,
    request_id: p.requestId,
    ...(p.errors?.length ? { errors: p.errors } : {}),
  }
}

export function problemResponse(p: ProblemInit): Response {
  return new Response(JSON.stringify(problemBody(p)), {
    status: p.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...p.headers },
  })
}
