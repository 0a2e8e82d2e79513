/**
 * The API contract between the renderer and the services: one entry per method, each with a zod
 * schema for its request and response. Both transports (Electron IPC, browser-mode HTTP) validate
 * requests with these schemas at the service boundary, so a malformed call is refused the same way.
 */
import { z } from 'zod'
import { datasetContract } from './datasets'
import { runContract } from './runs'
import { modelContract } from './models'
import { selfCheckContract } from './selfcheck'
import { clusterContract } from './cluster'
import { idSchema } from './ids'

export const ProjectSummary = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  created: z.string(),
  modified: z.string(),
})
export type ProjectSummary = z.infer<typeof ProjectSummary>

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  platform: z.string(),
  arch: z.string(),
  transport: z.enum(['electron', 'http']),
  home: z.string(),
  runtimes: z.object({
    onnxruntimeNode: z.union([z.string(), z.null()]),
    /** filled in by the renderer: whether navigator.gpu gives an adapter there */
    webgpu: z.union([z.object({ available: z.boolean(), adapter: z.string().optional() }), z.null()]),
  }),
  /** one line each: problems no request caused that the user should know about (e.g. example seeding) */
  notices: z.array(z.string()),
})
export type AppInfo = z.infer<typeof AppInfo>

const empty = z.object({}).strict()
const id = idSchema

export const contract = {
  'app.info': { input: empty, output: AppInfo },
  'project.list': { input: empty, output: z.array(ProjectSummary) },
  'project.create': { input: z.object({ name: z.string().trim().min(1).max(120) }).strict(), output: ProjectSummary },
  'project.open': { input: z.object({ id }).strict(), output: ProjectSummary },
  'project.rename': { input: z.object({ id, name: z.string().trim().min(1).max(120) }).strict(), output: ProjectSummary },
  ...datasetContract,
  ...modelContract,
  ...selfCheckContract,
  ...runContract,
  ...clusterContract,
} as const

export type Contract = typeof contract
export type Method = keyof Contract
export type Input<M extends Method> = z.input<Contract[M]['input']>
export type Output<M extends Method> = z.output<Contract[M]['output']>

export function isMethod(name: string): name is Method {
  return Object.prototype.hasOwnProperty.call(contract, name)
}

/** The one client interface the renderer talks to, whatever the transport. */
export interface DiffmdClient {
  call<M extends Method>(method: M, input: Input<M>): Promise<Output<M>>
}

/** Wire format of an error: code + one-line message. */
export interface ApiErrorBody {
  error: { code: string; message: string }
}
