/**
 * CI's realtime check through the compiled binary: a WebSocket authenticated by its first
 * message subscribes to a project, a task is created over HTTP, and its event must arrive.
 * Usage: bun scripts/realtime-smoke.ts <api base, e.g. http://127.0.0.1:8000/api/v1> <token> <project id>
 */
const [base, token, projectId] = process.argv.slice(2)
if (!base || !token || !projectId) {
  console.error('usage: bun scripts/realtime-smoke.ts <api base> <token> <project id>')
  process.exit(2)
}
const fail = (why: string) => {
  console.error(`FAIL: realtime on the binary: ${why}`)
  process.exit(1)
}
const timer = setTimeout(() => fail('no event within 10 s'), 10_000)
const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/realtime`)
ws.onerror = () => fail('the WebSocket failed')
ws.onclose = (e) => fail(`closed early with ${e.code} ${e.reason}`)
ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token }))
ws.onmessage = async (m) => {
  const msg = JSON.parse(String(m.data))
  if (msg.type === 'authenticated') ws.send(JSON.stringify({ type: 'subscribe', project_id: projectId }))
  else if (msg.type === 'subscribed') {
    const res = await fetch(`${base}/projects/${projectId}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'realtime smoke' }),
    })
    if (res.status !== 201) fail(`task create answered ${res.status}`)
  } else if (msg.type === 'event' && msg.event.type === 'task.created') {
    clearTimeout(timer)
    ws.onclose = null
    ws.close()
    console.log(`ok: realtime through the binary: subscribed, and ${msg.event.type} arrived`)
  } else if (msg.type === 'error') fail(JSON.stringify(msg))
}
