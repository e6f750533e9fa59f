import { buildUrl, api } from './client'
import type { Ticket } from './types'

/** GET /telephony/agents/me: the agent's own seat. */
export interface AgentState {
  extension: string | null
  /** idle 示闲 / paused 示忙 / ringing 振铃 / on_call 通话中 / wrapup 话后 / logged_out 未签入 */
  state: 'idle' | 'paused' | 'ringing' | 'on_call' | 'wrapup' | 'logged_out'
  paused: boolean
  pause_reason: string | null
  linkedid: string | null
  state_since: string | null
  wrapup_until: string | null
  interfaces: string[]
}

/** One 来电弹屏 (telephony/screenpop.py build_payload). */
export interface ScreenPop {
  type: 'screen_pop'
  user_id: number
  interface: string
  linkedid: string
  queue: string | null
  caller: string | null
  prior_calls: number
  citizen: { id: number | null; name: string | null; phone: string | null; masked: boolean } | null
  ticket_count: number
  open_tickets: Ticket[]
  recent_tickets: Ticket[]
  event_ts: number
}

export interface CallbackTask {
  id: number
  linkedid: string
  caller: string | null
  queue: string | null
  called_at: string | null
  abandoned_at: string | null
  wait_seconds: number | null
  status: 'open' | 'done' | 'unreachable'
  handled_by_id: number | null
  handled_at: string | null
  note: string | null
}

export const telephonyApi = {
  myState: () => api<AgentState>('telephony/agents/me'),
  /** 示忙 (paused, with a reason) / 示闲. */
  pause: (paused: boolean, reason?: string) =>
    api<{ interface: string; paused: boolean; message: string }>('telephony/agents/pause', { json: { paused, reason } }),
  /** 一键转接 to 110/119/120/122. */
  transfer: (linkedid: string, target: string) =>
    api<unknown>(`calls/${encodeURIComponent(linkedid)}/transfer`, { json: { target } }),
  callbacks: (status = 'open') => api<CallbackTask[]>('telephony/callbacks', { query: { status } }),
  /** 回拨: ring my seat, then the citizen. */
  dial: (id: number) => api<CallbackTask>(`telephony/callbacks/${id}/dial`, { method: 'POST' }),
  finishCallback: (id: number, status: 'done' | 'unreachable', note?: string) =>
    api<CallbackTask>(`telephony/callbacks/${id}`, { json: { status, note } }),
  /** The SSE stream of screen pops (EventSource cannot send a header: the token goes in the query). */
  screenPopUrl: (token: string) => buildUrl('telephony/screen-pop/stream', { token }),
}
