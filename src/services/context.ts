/** What every service call gets: where projects live, which transport asked, and an event sink. */
export interface ServiceEvent {
  /** e.g. 'dataset.import.progress', 'model.train.progress', 'run.progress' */
  topic: string
  payload: unknown
}

export interface ServiceContext {
  /** the folder that holds `projects/` */
  home: string
  transport: 'electron' | 'http'
  /** absolute path of the app's resources folder (examples, default model) */
  resourcesDir: string
  emit(event: ServiceEvent): void
}

/** A tiny fan-out for events: transports subscribe and forward to the renderer. */
export class EventHub {
  private listeners = new Set<(e: ServiceEvent) => void>()
  emit = (e: ServiceEvent): void => {
    for (const l of this.listeners) {
      try {
        l(e)
      } catch {
        // a broken listener must not break the service that emitted
      }
    }
  }
  subscribe(l: (e: ServiceEvent) => void): () => void {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }
}
