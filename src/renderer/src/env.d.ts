/// <reference types="vite/client" />
declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

interface DiffmdPreload {
  transport: 'electron'
  call(method: string, input: unknown): Promise<{ result?: unknown; error?: { code: string; message: string } }>
  onEvent(listener: (e: { topic: string; payload: unknown }) => void): () => void
  pathForFile(file: File): string
}

interface Window {
  diffmd?: DiffmdPreload
}
