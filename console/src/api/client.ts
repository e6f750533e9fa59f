// The one door to the HTTP API: bearer token, JSON in and out, and the API's one error shape
// ({code, detail, errors: [{loc, msg, type}]}) turned into an ApiError the pages show.
import { fieldMessage } from './errors'

export interface FieldError {
  loc: (string | number)[]
  msg: string
  type: string
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly errors: FieldError[]
  readonly body: unknown

  constructor(status: number, code: string, message: string, errors: FieldError[], body: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.errors = errors
    this.body = body
  }

  /** Messages by field name (the last part of `loc` that names a field), for el-form-item's `error`. */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const err of this.errors) {
      const field = fieldName(err.loc)
      if (field && !(field in out)) out[field] = fieldMessage(err)
    }
    return out
  }
}

function fieldName(loc: (string | number)[]): string | null {
  const parts = loc.filter((p) => typeof p === 'string' && !['body', 'query', 'path', 'header'].includes(p))
  return parts.length ? String(parts[parts.length - 1]) : null
}

type Query = Record<string, string | number | boolean | null | undefined | (string | number)[]>

export interface RequestOptions {
  method?: string
  /** Sent as JSON. */
  json?: unknown
  /** Sent as application/x-www-form-urlencoded (the OAuth2 login). */
  form?: Record<string, string>
  /** Sent as is (a file, YAML text, multipart). */
  body?: BodyInit
  contentType?: string
  query?: Query
  /** Read the answer as text instead of JSON. */
  text?: boolean
  /** Read a successful answer as a Blob (a file: an .xlsx export); errors still read as JSON. */
  blob?: boolean
  signal?: AbortSignal
}

/** Who is told when the API answers 401 (the session shows the login again). */
let onUnauthorized: (error: ApiError) => void = () => {}
/** Who is told when the API answers 403 password_change_required (the session asks for a new password). */
let onPasswordChangeRequired: () => void = () => {}
let tokenSource: () => string | null = () => null

export function configureClient(options: {
  token: () => string | null
  unauthorized: (e: ApiError) => void
  passwordChangeRequired: () => void
}) {
  tokenSource = options.token
  onUnauthorized = options.unauthorized
  onPasswordChangeRequired = options.passwordChangeRequired
}

export function buildUrl(path: string, query?: Query): string {
  const url = path.startsWith('/') ? path : `/api/v1/${path}`
  if (!query) return url
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === '') continue
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)))
    else params.set(key, String(value))
  }
  const qs = params.toString()
  return qs ? `${url}?${qs}` : url
}

/** Call the API (`path` relative to /api/v1/, or absolute); rejects with an ApiError. */
export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: BodyInit | undefined = options.body
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.json)
  } else if (options.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(options.form).toString()
  } else if (options.contentType) {
    headers['Content-Type'] = options.contentType
  }
  const token = tokenSource()
  if (token) headers.Authorization = `Bearer ${token}`
  let response: Response
  try {
    response = await fetch(buildUrl(path, options.query), {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      credentials: 'omit',
      signal: options.signal,
    })
  } catch (exc) {
    if (exc instanceof DOMException && exc.name === 'AbortError') throw exc
    throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试', [], null)
  }
  const isJson = (response.headers.get('Content-Type') ?? '').includes('json')
  let data: unknown = null
  if (response.status !== 204) {
    try {
      if (options.blob && response.ok) data = await response.blob()
      else data = isJson && !options.text ? await response.json() : await response.text()
    } catch {
      data = null
    }
  }
  if (response.ok) return data as T
  if (response.status === 401 && token) {
    // The token was refused: it expired (or the account was disabled or logged out everywhere).
    const expired = new ApiError(401, 'session_expired', '登录已过期，请重新登录', [], data)
    onUnauthorized(expired)
    throw expired
  }
  const error = toApiError(response.status, data)
  // An admin reset the password: nothing works until the user has chosen a new one.
  if (error.status === 403 && error.code === 'password_change_required') onPasswordChangeRequired()
  throw error
}

/** The API's error shape → ApiError with a message ready to show. */
export function toApiError(status: number, data: unknown): ApiError {
  const body = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>
  let errors = Array.isArray(body.errors) ? (body.errors as FieldError[]) : []
  // The shape before the one error shape (issue 11): 422 listed its errors under `detail`, and an
  // InvalidInput named its field in `field`.
  if (!errors.length && Array.isArray(body.detail)) errors = body.detail as FieldError[]
  if (!errors.length && typeof body.field === 'string' && typeof body.detail === 'string') {
    errors = [{ loc: ['body', body.field], msg: body.detail, type: 'value_error' }]
  }
  const code = typeof body.code === 'string' ? body.code : `http_${status}`
  const message = typeof body.detail === 'string' && body.detail ? body.detail : fallbackMessage(status)
  return new ApiError(status, code, message, errors, data)
}

function fallbackMessage(status: number): string {
  if (status === 403) return '当前角色无权执行此操作'
  if (status === 404) return '未找到'
  if (status === 409) return '操作冲突，请刷新后重试'
  if (status === 413) return '内容过大'
  if (status === 422) return '提交的内容有误'
  if (status === 429) return '操作过于频繁，请稍后再试'
  if (status >= 500) return `服务器出错（${status}），请稍后再试或联系管理员`
  return `请求失败（${status}）`
}
