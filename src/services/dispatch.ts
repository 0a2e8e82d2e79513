/**
 * The service boundary: validates a request against the API contract, runs the handler, validates
 * the response. Both transports (Electron IPC in src/main, HTTP in src/serve) call `dispatch`.
 */
import { z } from 'zod'
import { contract, isMethod, type Input, type Method, type Output } from '../api/contract'
import { UserError } from '../core/errors'
import type { ServiceContext } from './context'
import { appInfo } from './app/info'
import { createProject, listProjects, openProject, renameProject } from './project/store'

type Handlers = { [M in Method]: (ctx: ServiceContext, input: z.output<(typeof contract)[M]['input']>) => Promise<Output<M>> }

const handlers: Handlers = {
  'app.info': (ctx) => appInfo(ctx),
  'project.list': (ctx) => listProjects(ctx.home),
  'project.create': (ctx, input) => createProject(ctx.home, input.name),
  'project.open': (ctx, input) => openProject(ctx.home, input.id),
  'project.rename': (ctx, input) => renameProject(ctx.home, input.id, input.name),
}

function describeZod(method: string, err: z.ZodError): string {
  const first = err.issues[0]
  if (!first) return `${method}: invalid request`
  const where = first.path.length ? first.path.join('.') : 'request'
  return `${method}: ${where}: ${first.message}`
}

export async function dispatch(ctx: ServiceContext, method: string, rawInput: unknown): Promise<unknown> {
  if (!isMethod(method)) throw new UserError(`unknown API method '${method}'`, 'unknown-method')
  const spec = contract[method]
  const parsed = spec.input.safeParse(rawInput ?? {})
  if (!parsed.success) throw new UserError(describeZod(method, parsed.error), 'bad-request')
  const handler = handlers[method] as (ctx: ServiceContext, input: unknown) => Promise<unknown>
  const result = await handler(ctx, parsed.data)
  const out = spec.output.safeParse(result)
  if (!out.success) throw new Error(`${method}: service returned a malformed response: ${describeZod(method, out.error)}`)
  return out.data
}

export type { Input, Output }
