/** An error returned by the API to the renderer (either transport), with the service's code and message. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message)
    this.name = 'ApiError'
  }
}
